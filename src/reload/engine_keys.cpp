#include "reload/engine_keys.hpp"

#include <array>
#include <cstdio>

namespace pbxgate {
namespace {

std::string quoted(const std::string& s) { return "\"" + s + "\""; }
std::string text(verdict v) { return std::string(to_string(v)); }
std::string text(engine_mode m) { return m == engine_mode::monitor ? "monitor" : "enforce"; }
std::string text(placement p) { return p == placement::router ? "router" : "host"; }
std::string text(fail_mode f) { return f == fail_mode::closed ? "closed" : "open"; }
std::string text(overflow_mode o) { return o == overflow_mode::accept ? "accept" : "drop"; }
std::string text(std::uint32_t n) { return std::to_string(n); }
std::string text(const std::string& s) { return quoted(s); }
std::string text(const std::vector<ip_prefix>& prefixes) {
    std::string out;
    for (const ip_prefix& p : prefixes) out += (out.empty() ? "" : ", ") + to_string(p);
    return "[" + out + "]";
}
std::string text(const std::vector<std::pair<reason, std::uint32_t>>& limits) {
    std::string out;
    for (const auto& [why, n] : limits) out += (out.empty() ? "" : ", ") + std::string(to_string(why)) + " = " + std::to_string(n);
    return "{" + out + "}";
}
std::string zones_text(zone_set z) { return "[" + describe_zones(z) + "]"; }
std::string hex_text(std::uint32_t v) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%08x", v);
    return buf;
}

template <auto member>
constexpr auto default_show = [](const engine_settings& e) { return text(e.*member); };

// One row: the field, how it is shown (text() by its type unless given), and whether a
// running engine can apply it.
template <auto member, auto show = default_show<member>>
constexpr engine_key row(std::string_view name, bool needs_restart) {
    return engine_key{name, needs_restart, [](const engine_settings& e) -> std::string { return show(e); },
                      [](const engine_settings& a, const engine_settings& b) { return a.*member == b.*member; },
                      [](engine_settings& next, const engine_settings& running) { next.*member = running.*member; }};
}

constexpr bool live = false;
constexpr bool restart = true;

constexpr auto icmp_echo_show = [](const engine_settings& e) { return zones_text(e.icmp_echo); };
constexpr auto mark_mask_show = [](const engine_settings& e) { return hex_text(e.mark_mask); };

using es = engine_settings;
const std::array keys = {
    row<&es::default_verdict>("default_verdict", live),
    row<&es::localhost_default>("localhost_default", live),
    row<&es::non_first_fragment>("non_first_fragment", live),
    row<&es::icmp_echo, icmp_echo_show>("icmp_echo", live),
    row<&es::mode>("mode", live),
    row<&es::place>("placement", restart),             // the steering rules' chain
    row<&es::protected_addresses>("protected", restart),  // the steering rules' -d matches
    row<&es::fail>("fail", restart),                   // the queue's fail-open flag, the rules' bypass
    row<&es::queue_maxlen>("queue_maxlen", restart),   // the queue binding
    row<&es::copy_range>("copy_range", restart),       // the queue binding
    row<&es::log_level>("log_level", live),
    row<&es::drop_log_per_second>("drop_log_per_second", live),
    row<&es::drop_log_per_reason>("drop_log_per_reason", live),
    row<&es::metrics>("metrics", restart),             // the endpoint's socket
    row<&es::log_format>("log_format", live),
    row<&es::offload_after>("offload_after", live),
    row<&es::overflow>("overflow", restart),          // the queue's fail-open flag
    row<&es::mark_mask, mark_mask_show>("mark_mask", restart),  // the rules' mark matches
};

}  // namespace

std::span<const engine_key> engine_keys() { return keys; }

std::vector<std::string> keep_restart_only_keys(engine_settings& next, const engine_settings& running) {
    std::vector<std::string> lines;
    for (const engine_key& k : keys) {
        if (!k.needs_restart || k.same(next, running)) continue;
        lines.push_back(std::string(k.name) + " changed: needs a restart; keeping " + k.show(running));
        k.keep(next, running);
    }
    return lines;
}

}  // namespace pbxgate
