// compile(): the policy turned into direct-indexed tables; classify(): the hot loop.
#include "pbxgate/compiled_policy.hpp"

#include <algorithm>
#include <initializer_list>
#include <stdexcept>
#include <string>

namespace pbxgate {

namespace {

constexpr std::uint8_t ipproto_icmp = 1;
constexpr std::uint8_t ipproto_tcp = 6;
constexpr std::uint8_t ipproto_udp = 17;
constexpr std::uint8_t ipproto_icmpv6 = 58;

// A 256-bit set of ICMP types, testable in one load.
struct icmp_type_set {
    std::array<std::uint64_t, 4> words{};
    constexpr icmp_type_set(std::initializer_list<unsigned> types) {
        for (const unsigned t : types) words[t / 64] |= std::uint64_t{1} << (t % 64);
    }
    constexpr bool has(std::uint8_t t) const noexcept { return (words[t / 64u] >> (t % 64u)) & 1u; }
};

// The types the IP stack needs to work: errors (unreachable, time exceeded, parameter
// problem, and for IPv6 packet too big: PMTUD breaks without them), echo replies to our
// own pings, and ICMPv6 neighbour/router discovery, MLD and SEND (RFC 4890 section 4.4.1).
constexpr icmp_type_set icmp4_needed{0, 3, 11, 12};
constexpr icmp_type_set icmp6_needed{1,   2,   3,   4,   129, 130, 131, 132, 133, 134, 135,
                                     136, 141, 142, 143, 148, 149, 151, 152, 153};
constexpr std::uint8_t icmp4_echo_request = 8;
constexpr std::uint8_t icmp6_echo_request = 128;

// is_loopback() unmaps first; IPv4 sources (the bulk of the traffic) need one byte.
inline bool loopback_source(const ip_address& a) noexcept {
    return a.family == ip_family::v4 ? a.bytes[0] == 127 : a.is_loopback();
}

constexpr decision make(verdict v, reason r, zone z, service_id s = no_service_id) noexcept {
    return decision{v, r, z, s};
}

// Ids for the enabled services of `p`, in policy order: see compile()'s contract.
std::vector<service_id> assign_service_ids(const policy& p, const compiled_policy* previous,
                                           std::vector<std::string>& names) {
    if (previous)
        for (std::size_t id = 1; id < previous->service_id_limit(); ++id)
            names.emplace_back(previous->service_name(static_cast<service_id>(id)));
    std::array<bool, 256> taken{};
    std::vector<service_id> ids;
    for (const auto& s : p.services) {
        if (!s.enabled) continue;
        if (ids.size() == 255)
            throw std::invalid_argument("policy has more than 255 enabled services; service '" + s.name +
                                        "' does not fit");
        service_id id = no_service_id;
        for (std::size_t known = 1; known < names.size(); ++known)
            if (names[known] == s.name && !taken[known]) {
                id = static_cast<service_id>(known);
                break;
            }
        ids.push_back(id);
        if (id != no_service_id) taken[id] = true;
    }
    // New services: a fresh id while there is one, else the lowest id no service holds now.
    std::size_t i = 0;
    for (const auto& s : p.services) {
        if (!s.enabled) continue;
        service_id& id = ids[i++];
        if (id != no_service_id) continue;
        if (names.size() < 256) {
            id = static_cast<service_id>(names.size());
            names.push_back(s.name);
        } else {
            std::size_t free_id = 1;
            while (taken[free_id]) ++free_id;  // exists: at most 255 services hold ids
            id = static_cast<service_id>(free_id);
            names[free_id] = s.name;
        }
        taken[id] = true;
    }
    return ids;
}

}  // namespace

std::unique_ptr<const compiled_policy> compiled_policy::compile(const policy& p, const compiled_policy* previous) {
    // The constructor is private: make_unique cannot reach it.
    std::unique_ptr<compiled_policy> c(new compiled_policy());

    const std::vector<service_id> ids = assign_service_ids(p, previous, c->names_);
    std::size_t next = 0;
    for (const auto& s : p.services) {
        if (!s.enabled) continue;  // a disabled service is absent: its ports fall to the default
        const service_id id = ids[next++];
        c->active_[id] = true;
        ++c->active_count_;
        c->allowed_zones_[id] = s.allow;
        c->offload_[id] = s.offload;
        if (s.media == media_mode::negotiated) c->media_zones_[id] = p.media.zones;
        if (p.sip.enabled) {
            const auto named = [&](const std::vector<std::string>& list) {
                return std::find(list.begin(), list.end(), s.name) != list.end();
            };
            if (named(p.sip.services)) c->sip_kind_[id] = sip_kind::readable;
            else if (named(p.sip.encrypted_services)) c->sip_kind_[id] = sip_kind::encrypted;
        }
        auto claim = [&](proto_mask proto, const std::vector<port_range>& ports) {
            const auto mask = static_cast<unsigned>(proto);
            for (std::size_t t = 0; t < 2; ++t) {
                if (!(mask & (1u << t))) continue;  // proto_mask bit 0 = tcp, bit 1 = udp, as the tables
                auto& table = c->port_to_service_[t];
                for (const auto& r : ports)
                    for (unsigned port = r.first; port <= r.last; ++port)
                        // The loader refuses overlapping services; should one slip through, the
                        // first in policy order keeps the port, as it would in the file.
                        if (table[port] == no_service_id) table[port] = id;
            }
        };
        claim(s.proto, s.ports);
        for (const port_set& more : s.more_ports) claim(more.proto, more.ports);
    }

    std::vector<zoned_prefix> zoned;
    zoned.reserve(p.zones.lan.size() + p.zones.trusted.size() + p.zones.blocked.size());
    for (const auto& x : p.zones.lan) zoned.push_back({x, zone::lan});
    for (const auto& x : p.zones.trusted) zoned.push_back({x, zone::trusted});
    for (const auto& x : p.zones.blocked) zoned.push_back({x, zone::blocked});
    c->zones_ = zone_map::build(zoned);

    c->protected_ = prefix_set::build(p.engine.protected_addresses);

    c->engine_ = p.engine;
    c->source_ = p;
    return c;
}

zone compiled_policy::zone_of(const ip_address& src, const packet_meta& meta) const noexcept {
    // zone_map::lookup unmaps ::ffff:a.b.c.d itself, so a mapped source meets the IPv4 lists.
    const zone z = zones_.lookup(src);
    if (z == zone::blocked) return z;  // blocked wins over everything, even localhost
    // A known input interface decides alone: a loopback source arriving on eth0 is spoofed.
    if (meta.from_loopback_interface || (!meta.interface_known && loopback_source(src))) return zone::localhost;
    return z;
}

service_id compiled_policy::service_for(std::uint8_t ip_protocol, std::uint16_t dport) const noexcept {
    if (ip_protocol == ipproto_tcp) return port_to_service_[0][dport];
    if (ip_protocol == ipproto_udp) return port_to_service_[1][dport];
    return no_service_id;
}

bool compiled_policy::allows(service_id s, zone z) const noexcept {
    return (allowed_zones_[s] & zone_bit(z)) != 0;
}

bool compiled_policy::is_protected(const ip_address& dst) const noexcept {
    return protected_.contains(dst);
}

std::string_view compiled_policy::service_name(service_id s) const noexcept {
    return s < names_.size() ? std::string_view(names_[s]) : std::string_view();
}

// The order of the steps is the policy's semantics; explain and the docs follow it:
//  1. the source zone: blocked > localhost (the loopback interface; a loopback source when
//     the input interface is unknown, as in replay and explain) >
//     the zone map; internet when the IP header itself did not parse (no source to trust);
//  2. malformed packets are dropped;
//  3. router placement: traffic to an unprotected destination passes untouched;
//  4. blocked sources are dropped;
//  5. non-first fragments carry no ports: engine.non_first_fragment (the first is judged);
//  6. TCP/UDP: the service claiming the port decides by zone; no service -> default;
//  7. ICMP/ICMPv6: what the stack needs passes, echo per engine.icmp_echo, the rest drops;
//  8. any other protocol: the default verdict.
// The defaults in 6 and 8 are engine.localhost_default for the localhost zone and
// engine.default_verdict otherwise.
decision compiled_policy::classify(const packet_view& pkt, const packet_meta& meta) const noexcept {
    // 1.
    const bool have_ip_header = pkt.error != parse_error::empty && pkt.error != parse_error::bad_version &&
                                pkt.error != parse_error::truncated_ip_header;
    const zone z = have_ip_header ? zone_of(pkt.src, meta) : zone::internet;
    // 2.
    if (!pkt.ok()) [[unlikely]]
        return make(verdict::drop, reason::malformed, z);
    // 3.
    if (engine_.place == placement::router && !is_protected(pkt.dst))
        return make(verdict::accept, reason::not_protected, z);
    // 4.
    if (z == zone::blocked) return make(verdict::drop, reason::blocked, z);
    // 5.
    if (pkt.is_fragment && !pkt.is_first_fragment) return make(engine_.non_first_fragment, reason::fragment_follows, z);

    const verdict fallback = z == zone::localhost ? engine_.localhost_default : engine_.default_verdict;
    // 6.
    if (pkt.protocol == ipproto_tcp || pkt.protocol == ipproto_udp) [[likely]] {
        if (!pkt.has_ports) [[unlikely]]
            return make(verdict::drop, reason::malformed, z);
        const service_id s = port_to_service_[pkt.protocol == ipproto_udp][pkt.dport];
        if (s == no_service_id) return make(fallback, reason::no_service, z);
        return allows(s, z) ? make(verdict::accept, reason::allowed, z, s)
                            : make(verdict::drop, reason::zone_not_allowed, z, s);
    }
    // 7.
    const bool v4 = pkt.family == ip_family::v4;
    if ((v4 && pkt.protocol == ipproto_icmp) || (!v4 && pkt.protocol == ipproto_icmpv6)) {
        if (!pkt.has_icmp) return make(verdict::drop, reason::malformed, z);
        if ((v4 ? icmp4_needed : icmp6_needed).has(pkt.icmp_type)) return make(verdict::accept, reason::icmp_allowed, z);
        if (pkt.icmp_type == (v4 ? icmp4_echo_request : icmp6_echo_request) && (engine_.icmp_echo & zone_bit(z)))
            return make(verdict::accept, reason::icmp_allowed, z);
        return make(verdict::drop, reason::icmp_denied, z);
    }
    // 8.
    return make(fallback, reason::unsupported_protocol, z);
}

}  // namespace pbxgate
