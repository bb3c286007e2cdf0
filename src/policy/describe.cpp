// Short human descriptions of services and zone sets, shared by `explain`, `check` and
// the reload log.
#include "pbxgate/policy.hpp"

namespace pbxgate {

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

}  // namespace pbxgate
