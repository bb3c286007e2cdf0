#include <charconv>
#include <string>

#include "pbxgate/rules.hpp"

namespace pbxgate {

namespace {

std::optional<std::uint16_t> parse_queue_number(std::string_view text) {
    unsigned value = 0;
    const char* const end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (text.empty() || ec != std::errc{} || ptr != end || value > 65535) return std::nullopt;
    return static_cast<std::uint16_t>(value);
}

}  // namespace

std::optional<queue_range> parse_queue_range(std::string_view text, std::string* error) {
    const auto fail = [&](std::string why) -> std::optional<queue_range> {
        if (error) *error = "queue range '" + std::string(text) + "': " + std::move(why);
        return std::nullopt;
    };
    const auto dash = text.find('-');
    const auto first = parse_queue_number(text.substr(0, dash));
    const auto last = dash == std::string_view::npos ? first : parse_queue_number(text.substr(dash + 1));
    if (!first || !last) return fail("expected N or FIRST-LAST, queue numbers 0 to 65535");
    if (*first > *last) return fail("the first queue is above the last");
    return queue_range{*first, *last};
}

}  // namespace pbxgate
