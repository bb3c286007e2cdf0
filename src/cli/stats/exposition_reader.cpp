#include "cli/stats/exposition_reader.hpp"

#include <cstdlib>

namespace pbxgate {
namespace {

std::optional<metric_sample> read_line(std::string_view line) {
    metric_sample s;
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    s.name = std::string(line.substr(0, i));
    if (s.name.empty()) return std::nullopt;
    if (i < line.size() && line[i] == '{') {
        ++i;
        while (i < line.size() && line[i] != '}') {
            const auto eq = line.find("=\"", i);
            if (eq == std::string_view::npos) return std::nullopt;
            std::string key(line.substr(i, eq - i)), value;
            i = eq + 2;
            for (; i < line.size() && line[i] != '"'; ++i) {
                if (line[i] == '\\' && i + 1 < line.size()) {
                    ++i;
                    value += line[i] == 'n' ? '\n' : line[i];
                } else {
                    value += line[i];
                }
            }
            if (i >= line.size()) return std::nullopt;
            ++i;  // the closing quote
            s.labels.emplace(std::move(key), std::move(value));
            if (i < line.size() && line[i] == ',') ++i;
        }
        if (i >= line.size()) return std::nullopt;
        ++i;  // '}'
    }
    if (i >= line.size() || line[i] != ' ') return std::nullopt;
    const std::string number(line.substr(i + 1));
    char* end = nullptr;
    s.value = std::strtod(number.c_str(), &end);
    if (end == number.c_str()) return std::nullopt;
    return s;
}

}  // namespace

std::optional<std::vector<metric_sample>> read_exposition(std::string_view text, std::string* bad_line) {
    std::vector<metric_sample> out;
    while (!text.empty()) {
        const auto nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty() || line.front() == '#') continue;
        auto s = read_line(line);
        if (!s) {
            if (bad_line) *bad_line = std::string(line);
            return std::nullopt;
        }
        out.push_back(std::move(*s));
    }
    return out;
}

}  // namespace pbxgate
