#include "reload/policy_diff.hpp"

#include <map>

namespace pbxgate {
namespace {

std::string ports_text(const service_def& s) {
    std::string out;
    for (const port_range& r : s.ports) {
        if (!out.empty()) out += ',';
        out += std::to_string(r.first);
        if (r.last != r.first) out += '-' + std::to_string(r.last);
    }
    switch (s.proto) {
        case proto_mask::tcp: return out + "/tcp";
        case proto_mask::udp: return out + "/udp";
        case proto_mask::tcp_udp: return out + "/tcp+udp";
    }
    return out;
}

std::string zones_text(zone_set zs) {
    std::string out;
    for (unsigned z = 0; z < zone_count; ++z)
        if (zs & (1u << z)) out += (out.empty() ? "" : ",") + std::string(to_string(static_cast<zone>(z)));
    return out.empty() ? "none" : out;
}

std::map<std::string, const service_def*> enabled_services(const policy& p) {
    std::map<std::string, const service_def*> m;
    for (const service_def& s : p.services)
        if (s.enabled) m[s.name] = &s;
    return m;
}

}  // namespace

std::string describe_policy_change(const policy& before, const policy& after) {
    std::string out;
    auto add = [&out](const std::string& part) { out += (out.empty() ? "" : "; ") + part; };
    const auto old_services = enabled_services(before), new_services = enabled_services(after);
    for (const auto& [name, s] : new_services) {
        const auto it = old_services.find(name);
        if (it == old_services.end()) {
            add("+" + name + " " + ports_text(*s));
            continue;
        }
        if (ports_text(*it->second) != ports_text(*s)) add(name + " moved " + ports_text(*it->second) + " -> " + ports_text(*s));
        if (it->second->allow != s->allow)
            add(name + " allow " + zones_text(it->second->allow) + " -> " + zones_text(s->allow));
    }
    for (const auto& [name, s] : old_services)
        if (!new_services.count(name)) add("-" + name);
    auto zone_size = [&add](const char* name, std::size_t a, std::size_t b, bool same) {
        if (a != b) add(std::string(name) + " " + std::to_string(a) + " -> " + std::to_string(b) + " prefixes");
        else if (!same) add(std::string(name) + " changed (" + std::to_string(b) + " prefixes)");
    };
    zone_size("lan", before.zones.lan.size(), after.zones.lan.size(), before.zones.lan == after.zones.lan);
    zone_size("trusted", before.zones.trusted.size(), after.zones.trusted.size(),
              before.zones.trusted == after.zones.trusted);
    zone_size("blocked", before.zones.blocked.size(), after.zones.blocked.size(),
              before.zones.blocked == after.zones.blocked);
    if (before.engine.mode != after.engine.mode)
        add(std::string("mode ") + (after.engine.mode == engine_mode::monitor ? "monitor" : "enforce"));
    return out.empty() ? "no change" : out;
}

}  // namespace pbxgate
