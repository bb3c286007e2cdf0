#include "control/duration_text.hpp"

#include "control/ban_commands.hpp"

namespace pbxgate::control {

std::optional<std::int64_t> parse_duration(std::string_view text, std::string* error) {
    auto fail = [&](const std::string& why) -> std::optional<std::int64_t> {
        if (error) *error = "'" + std::string(text) + "': " + why;
        return std::nullopt;
    };
    std::size_t i = 0;
    std::int64_t n = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
        if (n > max_ban_seconds) return fail("too long (at most 3650d)");
        n = n * 10 + (text[i] - '0');
        ++i;
    }
    if (i == 0) return fail("expected a number and a unit: 30s, 10m, 1h, 7d");
    std::int64_t unit = 1;
    const std::string_view rest = text.substr(i);
    if (rest == "s" || rest.empty()) unit = 1;
    else if (rest == "m") unit = 60;
    else if (rest == "h") unit = 3600;
    else if (rest == "d") unit = 86400;
    else return fail("unknown unit '" + std::string(rest) + "' (s, m, h or d)");
    if (n == 0) return fail("a ban lasts at least 1s (leave out --for for one until removed)");
    if (n > max_ban_seconds / unit) return fail("too long (at most 3650d)");
    return n * unit;
}

std::string format_duration(std::int64_t seconds) {
    if (seconds <= 0) return "0s";
    std::string out;
    const std::int64_t parts[] = {86400, 3600, 60, 1};
    const char* names[] = {"d", "h", "m", "s"};
    for (int i = 0; i < 4; ++i) {
        if (seconds >= parts[i]) {
            out += std::to_string(seconds / parts[i]) + names[i];
            seconds %= parts[i];
        }
    }
    return out;
}

}  // namespace pbxgate::control
