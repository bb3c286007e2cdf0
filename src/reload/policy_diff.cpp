#include "reload/policy_diff.hpp"

#include <map>

#include "reload/engine_keys.hpp"

namespace pbxgate {
namespace {

std::map<std::string, const service_def*> enabled_services(const policy& p) {
    std::map<std::string, const service_def*> m;
    for (const service_def& s : p.services)
        if (s.enabled) m[s.name] = &s;
    return m;
}

// " (asterisk: pjsip.transports.conf)" for ports imported from the PBX's configuration.
std::string origin_of(const service_def& s) { return s.imported_from.empty() ? "" : " (" + s.imported_from + ")"; }

}  // namespace

std::string describe_policy_change(const policy& before, const policy& after) {
    std::string out;
    auto add = [&out](const std::string& part) { out += (out.empty() ? "" : "; ") + part; };
    const auto old_services = enabled_services(before), new_services = enabled_services(after);
    for (const auto& [name, s] : new_services) {
        const auto it = old_services.find(name);
        if (it == old_services.end()) {
            add("+" + name + " " + describe_ports(*s) + origin_of(*s));
            continue;
        }
        const service_def& was = *it->second;
        if (describe_ports(was) != describe_ports(*s)) add(name + " moved " + describe_ports(was) + " -> " + describe_ports(*s) + origin_of(*s));
        if (was.allow != s->allow) add(name + " allow " + describe_zones(was.allow) + " -> " + describe_zones(s->allow));
        if (was.offload != s->offload) add(name + " offload " + (s->offload ? "on" : "off"));
        if (was.media != s->media) add(name + " media " + (s->media == media_mode::negotiated ? "negotiated" : "open"));
        if (was.description != s->description) add(name + " description changed");
    }
    for (const auto& [name, s] : old_services)
        if (!new_services.count(name)) {
            // A service the import turned off says why ("-webrtc (asterisk: nothing listens)").
            std::string why;
            for (const service_def& d : after.services)
                if (d.name == name) why = origin_of(d);
            add("-" + name + why);
        }
    auto zone_size = [&add](const char* name, std::size_t a, std::size_t b, bool same) {
        if (a != b) add(std::string(name) + " " + std::to_string(a) + " -> " + std::to_string(b) + " prefixes");
        else if (!same) add(std::string(name) + " changed (" + std::to_string(b) + " prefixes)");
    };
    zone_size("lan", before.zones.lan.size(), after.zones.lan.size(), before.zones.lan == after.zones.lan);
    zone_size("trusted", before.zones.trusted.size(), after.zones.trusted.size(),
              before.zones.trusted == after.zones.trusted);
    zone_size("blocked", before.zones.blocked.size(), after.zones.blocked.size(),
              before.zones.blocked == after.zones.blocked);
    for (const engine_key& k : engine_keys()) {
        if (k.same(before.engine, after.engine)) continue;
        add(std::string(k.name) + " " + k.show(before.engine) + " -> " + k.show(after.engine) +
            (k.needs_restart ? " (needs a restart)" : ""));
    }
    return out.empty() ? "no change" : out;
}

}  // namespace pbxgate
