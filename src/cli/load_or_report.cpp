#include "cli/load_or_report.hpp"

#include <cstdio>

namespace pbxgate::cli {

std::unique_ptr<const compiled_policy> load_or_report(const std::string& path) {
    const load_result loaded = load_policy(path);
    if (!loaded.ok()) {
        for (const diagnostic& d : loaded.errors) std::fprintf(stderr, "%s\n", d.to_string().c_str());
        std::fprintf(stderr, "%s: %zu error%s, policy not loaded\n", path.c_str(), loaded.errors.size(),
                     loaded.errors.size() == 1 ? "" : "s");
        return nullptr;
    }
    return compiled_policy::compile(*loaded.value);
}

std::string describe_ports(const service_def& s) {
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

std::string describe_zones(zone_set zones) {
    // Most trusted first, the way an admin reads an allow list.
    static constexpr zone order[] = {zone::localhost, zone::trusted, zone::lan, zone::internet};
    std::string out;
    for (const zone z : order) {
        if (!(zones & zone_bit(z))) continue;
        if (!out.empty()) out += ", ";
        out += to_string(z);
    }
    return out.empty() ? "no zone" : out;
}

}  // namespace pbxgate::cli
