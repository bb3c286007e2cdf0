#include "pbxgate/verdict.hpp"

#include <array>

namespace pbxgate {

namespace {
constexpr std::array<std::string_view, zone_count> zone_names{"internet", "lan", "trusted", "localhost",
                                                             "blocked"};
constexpr std::array<std::string_view, reason_count> reason_names{
    "allowed", "icmp_allowed", "fragment_follows", "not_protected", "blocked",
    "zone_not_allowed", "no_service", "icmp_denied", "unsupported_protocol", "malformed",
    "banned", "scanner", "request_rate", "auth_failures", "pinhole", "media_signalling_peer", "no_pinhole"};
}  // namespace

std::string_view to_string(verdict v) noexcept { return v == verdict::accept ? "accept" : "drop"; }

std::string_view to_string(zone z) noexcept {
    const auto i = static_cast<unsigned>(z);
    return i < zone_names.size() ? zone_names[i] : "?";
}

std::string_view to_string(reason r) noexcept {
    const auto i = static_cast<unsigned>(r);
    return i < reason_names.size() ? reason_names[i] : "?";
}

std::optional<zone> zone_from_string(std::string_view s) noexcept {
    for (unsigned i = 0; i < zone_names.size(); ++i)
        if (zone_names[i] == s) return static_cast<zone>(i);
    return std::nullopt;
}

std::optional<verdict> verdict_from_string(std::string_view s) noexcept {
    if (s == "accept") return verdict::accept;
    if (s == "drop") return verdict::drop;
    return std::nullopt;
}

}  // namespace pbxgate
