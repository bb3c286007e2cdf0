// Short human descriptions of services and zone sets, shared by `explain`, `check` and
// the reload log.
#include "pbxgate/policy.hpp"

namespace pbxgate {

namespace {

std::string describe_set(const std::vector<port_range>& ports, proto_mask proto) {
    std::string out;
    for (const port_range& r : ports) {
        if (!out.empty()) out += ',';
        out += std::to_string(r.first);
        if (r.last != r.first) out += '-' + std::to_string(r.last);
    }
    switch (proto) {
        case proto_mask::tcp: return out + "/tcp";
        case proto_mask::udp: return out + "/udp";
        case proto_mask::tcp_udp: return out + "/tcp+udp";
    }
    return out;
}

}  // namespace

std::string describe_ports(const service_def& s) {
    std::string out = describe_set(s.ports, s.proto);
    for (const port_set& more : s.more_ports) out += ", " + describe_set(more.ports, more.proto);
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

}  // namespace pbxgate
