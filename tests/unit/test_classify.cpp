#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <string>

#include "pbxgate/compiled_policy.hpp"
#include "test_helpers.hpp"

using namespace pbxgate;
using pbxgate::test::addr;
using pbxgate::test::pfx;

namespace {

constexpr zone_set zones(std::initializer_list<zone> zs) {
    zone_set s = 0;
    for (const zone z : zs) s = static_cast<zone_set>(s | zone_bit(z));
    return s;
}

service_def service(const char* name, proto_mask proto, std::vector<port_range> ports, zone_set allow,
                    bool enabled = true) {
    service_def s;
    s.name = name;
    s.proto = proto;
    s.ports = std::move(ports);
    s.allow = allow;
    s.enabled = enabled;
    return s;
}

// Modelled on the FreePBX policy; the disabled service sits in the middle so the ids of
// the services after it show it is really absent.
policy freepbx_like() {
    policy p;
    const zone_set not_internet = zones({zone::lan, zone::trusted, zone::localhost});
    p.services = {
        service("sip", proto_mask::udp, {{5060, 5060}}, all_allowable_zones),
        service("ssh", proto_mask::tcp, {{22, 22}}, not_internet),
        service("tftp", proto_mask::udp, {{69, 69}}, all_allowable_zones, false),
        service("admin-http", proto_mask::tcp, {{80, 80}}, zones({zone::localhost})),
        service("rtp", proto_mask::udp, {{10000, 20000}}, all_allowable_zones),
        service("local-reserved", proto_mask::tcp_udp, {{6000, 6199}}, zones({zone::localhost})),
    };
    p.zones.lan = {pfx("192.0.2.0/24"), pfx("2001:db8:1::/48")};
    p.zones.trusted = {pfx("198.51.100.10")};
    p.zones.blocked = {pfx("203.0.113.0/24"), pfx("2001:db8:bad::/48")};
    return p;
}

enum class tweak { none, router, default_accept, localhost_drop, no_internet_echo, later_fragment_drop };

policy with(tweak t) {
    policy p = freepbx_like();
    switch (t) {
        case tweak::none: break;
        case tweak::router:
            p.engine.place = placement::router;
            p.engine.protected_addresses = {pfx("192.0.2.10"), pfx("2001:db8:1::10")};
            break;
        case tweak::default_accept: p.engine.default_verdict = verdict::accept; break;
        case tweak::localhost_drop: p.engine.localhost_default = verdict::drop; break;
        case tweak::no_internet_echo: p.engine.icmp_echo = zones({zone::lan, zone::trusted, zone::localhost}); break;
        case tweak::later_fragment_drop: p.engine.non_first_fragment = verdict::drop; break;
    }
    return p;
}

enum class frag { none, first, later };
// loopback_if: arrived on lo; other_if: the queue named another input interface (eth0).
enum flags : unsigned { no_flags = 0, loopback_if = 1, no_l4 = 2, other_if = 4 };

constexpr std::uint8_t tcp = 6, udp = 17, icmp = 1, icmp6 = 58;
constexpr verdict A = verdict::accept, D = verdict::drop;

struct row {
    const char* what;
    tweak t;
    const char* src;
    const char* dst;
    std::uint8_t proto;
    std::uint16_t dport;
    frag fr;
    std::uint8_t icmp_type;
    unsigned fl;
    parse_error err;
    verdict v;
    reason why;
    zone z;
    const char* service;
};

packet_view make_packet(const row& r) {
    packet_view pkt;
    pkt.error = r.err;
    pkt.src = addr(r.src);
    pkt.dst = addr(r.dst);
    pkt.family = pkt.src.family;
    pkt.protocol = r.proto;
    pkt.is_fragment = r.fr != frag::none;
    pkt.is_first_fragment = r.fr == frag::first;
    const bool l4 = r.fr != frag::later && !(r.fl & no_l4);
    const bool ports = r.proto == tcp || r.proto == udp;
    pkt.has_ports = l4 && ports;
    pkt.dport = pkt.has_ports ? r.dport : 0;
    pkt.sport = pkt.has_ports ? 40000 : 0;
    pkt.has_icmp = l4 && (r.proto == icmp || r.proto == icmp6);
    pkt.icmp_type = pkt.has_icmp ? r.icmp_type : 0;
    return pkt;
}

std::ostream& operator<<(std::ostream& os, const row& r) {
    return os << r.what << " (" << r.src << " -> " << r.dst << " proto " << unsigned(r.proto) << " dport "
              << r.dport << ")";
}

}  // namespace

TEST_CASE("classify follows the documented steps", "[classify]") {
    constexpr auto pe = parse_error::none;
    constexpr auto T0 = tweak::none;
    const char* srv = "192.0.2.1";      // the PBX (a lan address: destinations do not matter in host placement)
    const char* srv6 = "2001:db8:1::1";
    const char* inet = "8.8.8.8";
    const char* inet6 = "2001:db8:2::1";
    const char* lan = "192.0.2.7";
    const char* lan6 = "2001:db8:1::7";
    const char* bad = "203.0.113.9";
    const char* bad6 = "2001:db8:bad::1";
    const char* lo = "127.0.0.1";
    using R = reason;
    using Z = zone;
    const row rows[] = {
        // 1. zones (and 6: the services deciding by zone)
        {"internet sip", T0, inet, srv, udp, 5060, frag::none, 0, 0, pe, A, R::allowed, Z::internet, "sip"},
        {"lan ssh", T0, lan, srv, tcp, 22, frag::none, 0, 0, pe, A, R::allowed, Z::lan, "ssh"},
        {"internet ssh", T0, inet, srv, tcp, 22, frag::none, 0, 0, pe, D, R::zone_not_allowed, Z::internet, "ssh"},
        {"trusted host ssh", T0, "198.51.100.10", srv, tcp, 22, frag::none, 0, 0, pe, A, R::allowed, Z::trusted, "ssh"},
        {"next to trusted", T0, "198.51.100.11", srv, tcp, 22, frag::none, 0, 0, pe, D, R::zone_not_allowed, Z::internet, "ssh"},
        {"lan edge .255", T0, "192.0.2.255", srv, tcp, 22, frag::none, 0, 0, pe, A, R::allowed, Z::lan, "ssh"},
        {"past lan edge", T0, "192.0.3.0", srv, tcp, 22, frag::none, 0, 0, pe, D, R::zone_not_allowed, Z::internet, "ssh"},
        {"loopback source", T0, lo, srv, tcp, 80, frag::none, 0, 0, pe, A, R::allowed, Z::localhost, "admin-http"},
        {"127/8 source", T0, "127.8.9.10", srv, tcp, 80, frag::none, 0, 0, pe, A, R::allowed, Z::localhost, "admin-http"},
        {"lan admin-http", T0, lan, srv, tcp, 80, frag::none, 0, 0, pe, D, R::zone_not_allowed, Z::lan, "admin-http"},
        {"loopback interface, lan source", T0, lan, srv, tcp, 80, frag::none, 0, loopback_if, pe, A, R::allowed, Z::localhost, "admin-http"},
        {"loopback interface, internet source", T0, inet, srv, tcp, 80, frag::none, 0, loopback_if, pe, A, R::allowed, Z::localhost, "admin-http"},
        {"blocked beats loopback interface", T0, bad, srv, tcp, 80, frag::none, 0, loopback_if, pe, D, R::blocked, Z::blocked, ""},
        {"mapped blocked", T0, "::ffff:203.0.113.9", srv6, udp, 5060, frag::none, 0, 0, pe, D, R::blocked, Z::blocked, ""},
        {"mapped lan", T0, "::ffff:192.0.2.7", srv6, tcp, 22, frag::none, 0, 0, pe, A, R::allowed, Z::lan, "ssh"},
        {"mapped loopback", T0, "::ffff:127.0.0.1", srv6, tcp, 80, frag::none, 0, 0, pe, A, R::allowed, Z::localhost, "admin-http"},
        {"v6 loopback", T0, "::1", "::1", tcp, 80, frag::none, 0, 0, pe, A, R::allowed, Z::localhost, "admin-http"},
        {"v6 lan ssh", T0, lan6, srv6, tcp, 22, frag::none, 0, 0, pe, A, R::allowed, Z::lan, "ssh"},
        {"v6 internet ssh", T0, inet6, srv6, tcp, 22, frag::none, 0, 0, pe, D, R::zone_not_allowed, Z::internet, "ssh"},
        {"v6 blocked", T0, bad6, srv6, udp, 5060, frag::none, 0, 0, pe, D, R::blocked, Z::blocked, ""},
        {"v6 blocked on loopback interface", T0, bad6, srv6, udp, 5060, frag::none, 0, loopback_if, pe, D, R::blocked, Z::blocked, ""},
        // The queue names the input interface: a loopback source on eth0 is spoofed, not localhost.
        {"127.0.0.1 source on eth0", T0, lo, srv, tcp, 80, frag::none, 0, other_if, pe, D, R::zone_not_allowed, Z::internet, "admin-http"},
        {"127/8 source on eth0", T0, "127.8.9.10", srv, tcp, 80, frag::none, 0, other_if, pe, D, R::zone_not_allowed, Z::internet, "admin-http"},
        {"::1 source on eth0", T0, "::1", srv6, tcp, 80, frag::none, 0, other_if, pe, D, R::zone_not_allowed, Z::internet, "admin-http"},
        {"mapped loopback on eth0", T0, "::ffff:127.0.0.1", srv6, tcp, 80, frag::none, 0, other_if, pe, D, R::zone_not_allowed, Z::internet, "admin-http"},
        {"lan source on eth0", T0, lan, srv, tcp, 22, frag::none, 0, other_if, pe, A, R::allowed, Z::lan, "ssh"},
        {"127.0.0.1 source on lo, known", T0, lo, srv, tcp, 80, frag::none, 0, other_if | loopback_if, pe, A, R::allowed, Z::localhost, "admin-http"},
        // 2. malformed
        {"truncated l4, blocked source", T0, bad, srv, udp, 5060, frag::none, 0, 0, parse_error::truncated_l4_header, D, R::malformed, Z::blocked, ""},
        {"bad udp length, lan", T0, lan, srv, udp, 5060, frag::none, 0, 0, parse_error::bad_udp_length, D, R::malformed, Z::lan, ""},
        {"bad version: no source", T0, bad, srv, udp, 5060, frag::none, 0, 0, parse_error::bad_version, D, R::malformed, Z::internet, ""},
        {"truncated ip header: no source", T0, lo, srv, udp, 5060, frag::none, 0, 0, parse_error::truncated_ip_header, D, R::malformed, Z::internet, ""},
        {"empty: no source", T0, lan, srv, udp, 5060, frag::none, 0, 0, parse_error::empty, D, R::malformed, Z::internet, ""},
        {"tcp without ports", T0, inet, srv, tcp, 0, frag::none, 0, no_l4, pe, D, R::malformed, Z::internet, ""},
        {"icmp without type", T0, inet, srv, icmp, 0, frag::none, 0, no_l4, pe, D, R::malformed, Z::internet, ""},
        // 3. router placement
        {"router: unprotected dst", tweak::router, inet, "192.0.2.99", tcp, 22, frag::none, 0, 0, pe, A, R::not_protected, Z::internet, ""},
        {"router: blocked to unprotected", tweak::router, bad, "192.0.2.99", tcp, 22, frag::none, 0, 0, pe, A, R::not_protected, Z::blocked, ""},
        {"router: protected dst", tweak::router, inet, "192.0.2.10", tcp, 22, frag::none, 0, 0, pe, D, R::zone_not_allowed, Z::internet, "ssh"},
        {"router: blocked to protected", tweak::router, bad, "192.0.2.10", tcp, 22, frag::none, 0, 0, pe, D, R::blocked, Z::blocked, ""},
        {"router: v6 protected dst", tweak::router, lan6, "2001:db8:1::10", tcp, 22, frag::none, 0, 0, pe, A, R::allowed, Z::lan, "ssh"},
        {"router: v6 unprotected dst", tweak::router, inet6, "2001:db8:1::11", tcp, 22, frag::none, 0, 0, pe, A, R::not_protected, Z::internet, ""},
        {"router: mapped protected dst", tweak::router, inet, "::ffff:192.0.2.10", udp, 5060, frag::none, 0, 0, pe, A, R::allowed, Z::internet, "sip"},
        {"router: malformed first", tweak::router, inet, "192.0.2.99", udp, 5060, frag::none, 0, 0, parse_error::bad_udp_length, D, R::malformed, Z::internet, ""},
        // 5. fragments
        {"later fragment", T0, inet, srv, udp, 0, frag::later, 0, 0, pe, A, R::fragment_follows, Z::internet, ""},
        {"later fragment, drop", tweak::later_fragment_drop, inet, srv, udp, 0, frag::later, 0, 0, pe, D, R::fragment_follows, Z::internet, ""},
        {"later fragment, blocked", T0, bad, srv, udp, 0, frag::later, 0, 0, pe, D, R::blocked, Z::blocked, ""},
        {"v6 later fragment", T0, inet6, srv6, udp, 0, frag::later, 0, 0, pe, A, R::fragment_follows, Z::internet, ""},
        {"first fragment judged", T0, inet, srv, tcp, 22, frag::first, 0, 0, pe, D, R::zone_not_allowed, Z::internet, "ssh"},
        {"first fragment sip", T0, inet, srv, udp, 5060, frag::first, 0, 0, pe, A, R::allowed, Z::internet, "sip"},
        // 6. port ranges and defaults
        {"rtp 9999", T0, inet, srv, udp, 9999, frag::none, 0, 0, pe, D, R::no_service, Z::internet, ""},
        {"rtp 10000", T0, inet, srv, udp, 10000, frag::none, 0, 0, pe, A, R::allowed, Z::internet, "rtp"},
        {"rtp 20000", T0, inet, srv, udp, 20000, frag::none, 0, 0, pe, A, R::allowed, Z::internet, "rtp"},
        {"rtp 20001", T0, inet, srv, udp, 20001, frag::none, 0, 0, pe, D, R::no_service, Z::internet, ""},
        {"rtp is udp only", T0, inet, srv, tcp, 10000, frag::none, 0, 0, pe, D, R::no_service, Z::internet, ""},
        {"v6 rtp 20000", T0, inet6, srv6, udp, 20000, frag::none, 0, 0, pe, A, R::allowed, Z::internet, "rtp"},
        {"v6 rtp 20001", T0, inet6, srv6, udp, 20001, frag::none, 0, 0, pe, D, R::no_service, Z::internet, ""},
        {"local 5999 tcp", T0, lo, srv, tcp, 5999, frag::none, 0, 0, pe, A, R::no_service, Z::localhost, ""},
        {"local 6000 tcp", T0, lo, srv, tcp, 6000, frag::none, 0, 0, pe, A, R::allowed, Z::localhost, "local-reserved"},
        {"local 6199 udp", T0, lo, srv, udp, 6199, frag::none, 0, 0, pe, A, R::allowed, Z::localhost, "local-reserved"},
        {"local 6200 tcp", T0, lo, srv, tcp, 6200, frag::none, 0, 0, pe, A, R::no_service, Z::localhost, ""},
        {"lan 6000 tcp", T0, lan, srv, tcp, 6000, frag::none, 0, 0, pe, D, R::zone_not_allowed, Z::lan, "local-reserved"},
        {"internet 6199 udp", T0, inet, srv, udp, 6199, frag::none, 0, 0, pe, D, R::zone_not_allowed, Z::internet, "local-reserved"},
        {"internet 5999 udp", T0, inet, srv, udp, 5999, frag::none, 0, 0, pe, D, R::no_service, Z::internet, ""},
        {"internet 6200 udp", T0, inet, srv, udp, 6200, frag::none, 0, 0, pe, D, R::no_service, Z::internet, ""},
        {"disabled service", T0, inet, srv, udp, 69, frag::none, 0, 0, pe, D, R::no_service, Z::internet, ""},
        {"default accept", tweak::default_accept, inet, srv, udp, 69, frag::none, 0, 0, pe, A, R::no_service, Z::internet, ""},
        {"default accept, service still decides", tweak::default_accept, inet, srv, tcp, 22, frag::none, 0, 0, pe, D, R::zone_not_allowed, Z::internet, "ssh"},
        {"localhost default", T0, lo, srv, tcp, 3306, frag::none, 0, 0, pe, A, R::no_service, Z::localhost, ""},
        {"localhost default drop", tweak::localhost_drop, lo, srv, tcp, 3306, frag::none, 0, 0, pe, D, R::no_service, Z::localhost, ""},
        {"lan is not localhost", T0, lan, srv, tcp, 3306, frag::none, 0, 0, pe, D, R::no_service, Z::lan, ""},
        // 7. ICMP / ICMPv6
        {"echo reply", T0, inet, srv, icmp, 0, frag::none, 0, 0, pe, A, R::icmp_allowed, Z::internet, ""},
        {"unreachable", T0, inet, srv, icmp, 0, frag::none, 3, 0, pe, A, R::icmp_allowed, Z::internet, ""},
        {"time exceeded", T0, inet, srv, icmp, 0, frag::none, 11, 0, pe, A, R::icmp_allowed, Z::internet, ""},
        {"parameter problem", T0, inet, srv, icmp, 0, frag::none, 12, 0, pe, A, R::icmp_allowed, Z::internet, ""},
        {"echo request", T0, inet, srv, icmp, 0, frag::none, 8, 0, pe, A, R::icmp_allowed, Z::internet, ""},
        {"echo request, internet not answered", tweak::no_internet_echo, inet, srv, icmp, 0, frag::none, 8, 0, pe, D, R::icmp_denied, Z::internet, ""},
        {"echo request, lan answered", tweak::no_internet_echo, lan, srv, icmp, 0, frag::none, 8, 0, pe, A, R::icmp_allowed, Z::lan, ""},
        {"redirect", T0, lan, srv, icmp, 0, frag::none, 5, 0, pe, D, R::icmp_denied, Z::lan, ""},
        {"timestamp", T0, inet, srv, icmp, 0, frag::none, 13, 0, pe, D, R::icmp_denied, Z::internet, ""},
        {"icmp from blocked", T0, bad, srv, icmp, 0, frag::none, 3, 0, pe, D, R::blocked, Z::blocked, ""},
        {"v6 packet too big", T0, inet6, srv6, icmp6, 0, frag::none, 2, 0, pe, A, R::icmp_allowed, Z::internet, ""},
        {"v6 dest unreachable", T0, inet6, srv6, icmp6, 0, frag::none, 1, 0, pe, A, R::icmp_allowed, Z::internet, ""},
        {"v6 neighbour solicitation", T0, "fe80::1", srv6, icmp6, 0, frag::none, 135, 0, pe, A, R::icmp_allowed, Z::internet, ""},
        {"v6 MLDv2 report", T0, "fe80::1", "ff02::16", icmp6, 0, frag::none, 143, 0, pe, A, R::icmp_allowed, Z::internet, ""},
        {"v6 echo reply", T0, inet6, srv6, icmp6, 0, frag::none, 129, 0, pe, A, R::icmp_allowed, Z::internet, ""},
        {"v6 echo request", T0, inet6, srv6, icmp6, 0, frag::none, 128, 0, pe, A, R::icmp_allowed, Z::internet, ""},
        {"v6 echo request, not answered", tweak::no_internet_echo, inet6, srv6, icmp6, 0, frag::none, 128, 0, pe, D, R::icmp_denied, Z::internet, ""},
        {"v6 echo request, lan answered", tweak::no_internet_echo, lan6, srv6, icmp6, 0, frag::none, 128, 0, pe, A, R::icmp_allowed, Z::lan, ""},
        {"v6 redirect", T0, "fe80::1", srv6, icmp6, 0, frag::none, 137, 0, pe, D, R::icmp_denied, Z::internet, ""},
        {"v6 router renumbering", T0, inet6, srv6, icmp6, 0, frag::none, 138, 0, pe, D, R::icmp_denied, Z::internet, ""},
        {"v6 type 150 (not needed)", T0, inet6, srv6, icmp6, 0, frag::none, 150, 0, pe, D, R::icmp_denied, Z::internet, ""},
        {"v6 type 153", T0, inet6, srv6, icmp6, 0, frag::none, 153, 0, pe, A, R::icmp_allowed, Z::internet, ""},
        {"v4 type 8 is not v6 echo", T0, inet6, srv6, icmp6, 0, frag::none, 8, 0, pe, D, R::icmp_denied, Z::internet, ""},
        // 8. other protocols (and ICMP numbers in the wrong family)
        {"icmpv6 over ipv4", T0, inet, srv, icmp6, 0, frag::none, 0, no_l4, pe, D, R::unsupported_protocol, Z::internet, ""},
        {"icmp over ipv6", T0, inet6, srv6, icmp, 0, frag::none, 0, no_l4, pe, D, R::unsupported_protocol, Z::internet, ""},
        {"sctp", T0, inet, srv, 132, 0, frag::none, 0, 0, pe, D, R::unsupported_protocol, Z::internet, ""},
        {"gre from localhost", T0, lo, srv, 47, 0, frag::none, 0, 0, pe, A, R::unsupported_protocol, Z::localhost, ""},
        {"esp, default accept", tweak::default_accept, inet6, srv6, 50, 0, frag::none, 0, 0, pe, A, R::unsupported_protocol, Z::internet, ""},
    };

    std::map<tweak, std::unique_ptr<const compiled_policy>> compiled;
    for (const auto t : {tweak::none, tweak::router, tweak::default_accept, tweak::localhost_drop,
                         tweak::no_internet_echo, tweak::later_fragment_drop})
        compiled[t] = compiled_policy::compile(with(t));

    for (const auto& r : rows) {
        INFO(r);
        const compiled_policy& c = *compiled.at(r.t);
        packet_meta meta;
        meta.from_loopback_interface = (r.fl & loopback_if) != 0;
        meta.interface_known = (r.fl & other_if) != 0;
        const decision d = c.classify(make_packet(r), meta);
        CHECK(to_string(d.action) == to_string(r.v));
        CHECK(to_string(d.why) == to_string(r.why));
        CHECK(to_string(d.from) == to_string(r.z));
        CHECK(c.service_name(d.service) == r.service);
    }
}

TEST_CASE("service ids follow policy order, enabled services only", "[classify]") {
    const auto c = compiled_policy::compile(freepbx_like());
    struct row { std::uint8_t proto; std::uint16_t port; const char* name; service_id id; };
    const row rows[] = {
        {udp, 5060, "sip", 1},        {tcp, 5060, "", 0},     {tcp, 22, "ssh", 2},
        {udp, 69, "", 0},             {tcp, 80, "admin-http", 3}, {udp, 15000, "rtp", 4},
        {tcp, 6100, "local-reserved", 5}, {udp, 6100, "local-reserved", 5}, {icmp, 22, "", 0},
        {tcp, 0, "", 0},              {udp, 65535, "", 0},
    };
    for (const auto& r : rows) {
        INFO(unsigned(r.proto) << "/" << r.port);
        CHECK(unsigned(c->service_for(r.proto, r.port)) == unsigned(r.id));
        CHECK(c->service_name(c->service_for(r.proto, r.port)) == r.name);
    }
    CHECK(c->service_count() == 5);
    CHECK(c->service_name(200).empty());
    CHECK(c->allows(2, zone::lan));
    CHECK_FALSE(c->allows(2, zone::internet));
    CHECK_FALSE(c->allows(no_service_id, zone::localhost));
    CHECK(c->source().services.size() == 6);
}
