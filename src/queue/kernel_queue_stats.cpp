#include "queue/kernel_queue_stats.hpp"

#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>

namespace pbxgate {

namespace {
bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
}  // namespace

std::optional<kernel_queue_stats> parse_kernel_queue_line(std::string_view line) noexcept {
    std::array<std::uint32_t, 9> v{};
    std::size_t fields = 0;
    std::size_t i = 0;
    while (true) {
        while (i < line.size() && is_space(line[i])) ++i;
        if (i == line.size()) break;
        if (fields == v.size()) return std::nullopt;
        std::size_t j = i;
        while (j < line.size() && !is_space(line[j])) ++j;
        const char* first = line.data() + i;
        const char* last = line.data() + j;
        std::uint32_t value = 0;
        auto [ptr, ec] = std::from_chars(first, last, value);
        if (ec != std::errc{} || ptr != last) return std::nullopt;
        v[fields++] = value;
        i = j;
    }
    if (fields < 8) return std::nullopt;
    return kernel_queue_stats{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]};
}

std::optional<std::vector<kernel_queue_stats>> read_kernel_queue_stats(const std::string& path,
                                                                       std::string* error) {
    std::ifstream in(path);
    if (!in) {
        if (error) *error = "cannot read " + path + ": " + std::strerror(errno);
        return std::nullopt;
    }
    std::vector<kernel_queue_stats> out;
    std::string line;
    while (std::getline(in, line))
        if (auto s = parse_kernel_queue_line(line)) out.push_back(*s);
    return out;
}

}  // namespace pbxgate
