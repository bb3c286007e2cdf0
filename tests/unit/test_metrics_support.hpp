// Reading Prometheus text back in tests: an independent, strict little parser, so the
// tests check what a scraper would see rather than what the writer meant.
#pragma once

#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace pbxgate::test {

struct exposition_sample {
    std::string name;
    std::map<std::string, std::string> labels;
    std::string value;
};

struct parsed_exposition {
    std::vector<exposition_sample> samples;
    std::map<std::string, std::string> type;  // family -> counter|gauge
    std::map<std::string, std::string> help;
    std::vector<std::string> errors;           // lines that do not parse

    // The value of the one sample with this name and exactly these labels; "" if none.
    std::string value(const std::string& name, const std::map<std::string, std::string>& labels = {}) const {
        for (const auto& s : samples)
            if (s.name == name && s.labels == labels) return s.value;
        return "";
    }
    std::size_t count(const std::string& name) const {
        std::size_t n = 0;
        for (const auto& s : samples) n += s.name == name;
        return n;
    }
};

inline parsed_exposition parse_exposition(const std::string& text) {
    parsed_exposition out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) {
            const auto sp = line.find(' ', 7);
            if (sp == std::string::npos) { out.errors.push_back(line); continue; }
            (line[2] == 'H' ? out.help : out.type)[line.substr(7, sp - 7)] = line.substr(sp + 1);
            continue;
        }
        exposition_sample s;
        std::size_t i = 0;
        while (i < line.size() && line[i] != '{' && line[i] != ' ') s.name += line[i++];
        if (i < line.size() && line[i] == '{') {
            ++i;
            while (i < line.size() && line[i] != '}') {
                std::string key, value;
                while (i < line.size() && line[i] != '=') key += line[i++];
                if (line.compare(i, 2, "=\"") != 0) break;
                i += 2;
                while (i < line.size() && line[i] != '"') {
                    if (line[i] == '\\' && i + 1 < line.size()) {
                        ++i;
                        value += line[i] == 'n' ? '\n' : line[i];
                    } else {
                        value += line[i];
                    }
                    ++i;
                }
                ++i;  // closing quote
                s.labels[key] = value;
                if (i < line.size() && line[i] == ',') ++i;
            }
            if (i >= line.size() || line[i] != '}') { out.errors.push_back(line); continue; }
            ++i;
        }
        if (i >= line.size() || line[i] != ' ' || s.name.empty()) { out.errors.push_back(line); continue; }
        s.value = line.substr(i + 1);
        out.samples.push_back(std::move(s));
    }
    return out;
}

}  // namespace pbxgate::test
