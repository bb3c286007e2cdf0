// Every row of ../shared/docs/freepbx-ports.md, from every zone, IPv4 and IPv6, as real
// packet bytes through the parser and the compiled shipped policy. The expectations are
// transcribed from the doc's exposure column here, independently of policies/freepbx.toml,
// so a wrong port or zone in the TOML fails this test.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "packet_builder.hpp"
#include "pbxgate/compiled_policy.hpp"

using namespace pbxgate;
using pbxgate::test::packet_builder;

namespace {

// The doc's exposure column, as zone sets.
enum class exposure { lan_only, disabled, limit, open, local };

bool allowed(exposure e, zone z) {
    switch (e) {
        case exposure::open: return z != zone::blocked;
        case exposure::lan_only:
        case exposure::limit: return z == zone::localhost || z == zone::trusted || z == zone::lan;
        case exposure::disabled:
        case exposure::local: return z == zone::localhost;
    }
    return false;
}

struct doc_row {
    const char* service;
    bool tcp, udp;
    std::vector<std::uint16_t> ports;  // every single port, and both edges plus a middle of ranges
    exposure e;
};

const std::vector<doc_row>& doc_rows() {
    static const std::vector<doc_row> rows = {
        // Administrator access
        {"ssh", true, false, {22}, exposure::lan_only},
        {"admin-http", true, false, {80}, exposure::disabled},
        {"admin-https", true, false, {443}, exposure::limit},
        {"openvpn", true, true, {1194}, exposure::open},  // TCP per the article, UDP per OpenVPN
        // Telephony
        {"sip", false, true, {5060}, exposure::open},
        {"sip-tls", true, false, {5061}, exposure::open},
        {"rtp", false, true, {10000, 10001, 15000, 19999, 20000}, exposure::open},
        // UCP
        {"ucp-http", true, false, {81}, exposure::disabled},
        {"ucp-https", true, false, {4443}, exposure::open},
        {"webrtc", true, false, {8088}, exposure::lan_only},
        {"webrtc-tls", true, false, {8089}, exposure::open},
        {"node", true, false, {8001}, exposure::lan_only},
        {"node-tls", true, false, {8003}, exposure::open},
        // Provisioning
        {"provisioning-http", true, false, {84}, exposure::lan_only},
        {"provisioning-https", true, false, {1443}, exposure::open},
        {"ftp", true, false, {21}, exposure::lan_only},
        {"tftp", true, true, {69}, exposure::lan_only},  // TCP per the article, UDP per TFTP
        {"phone-apps-http", true, false, {82}, exposure::lan_only},
        {"phone-apps-https", true, false, {3443}, exposure::open},
        // Sangoma clients (their SIP-TLS and RTP are the sip-tls and rtp rows)
        {"talk-node", true, false, {8443}, exposure::local},
        {"sangoma-phone", true, false, {6443}, exposure::open},
        {"zulu", true, false, {8002}, exposure::open},
        // Reserved local range
        {"local-reserved", true, true, {6000, 6001, 6100, 6198, 6199}, exposure::local},
        // The two FreePBX services the article leaves out
        {"iax", false, true, {4569}, exposure::lan_only},
        {"udptl", false, true, {4000, 4500, 4999}, exposure::open},
    };
    return rows;
}

struct source {
    zone z;
    const char* v4;
    const char* v6;
    bool loopback_interface;
};

// The testbed's addresses (tests/data/policies/testbed.toml, scripts/lib/testbed.sh).
const source sources[] = {
    {zone::internet, "203.0.113.10", "2001:db8:3::10", false},
    {zone::lan, "192.0.2.10", "2001:db8:1::10", false},
    {zone::trusted, "198.51.100.10", "2001:db8:2::10", false},
    {zone::localhost, "127.0.0.1", "::1", false},      // loopback source
    {zone::localhost, "192.0.2.1", "2001:db8:1::1", true},  // the host's own address, arriving on lo
    {zone::blocked, "203.0.113.200", "2001:db8:3::200", false},
};

const compiled_policy& testbed_policy() {
    static const auto cp = [] {
        const load_result r = load_policy(PBXGATE_SOURCE_DIR "/tests/data/policies/testbed.toml");
        for (const auto& d : r.errors) UNSCOPED_INFO(d.to_string());
        REQUIRE(r.ok());
        return compiled_policy::compile(*r.value);
    }();
    return *cp;
}

decision judge(const std::vector<std::uint8_t>& bytes, bool loopback_interface) {
    packet_view v;
    REQUIRE(parse_ip_packet(bytes.data(), bytes.size(), bytes.size(), v) == parse_error::none);
    packet_meta meta;
    meta.from_loopback_interface = loopback_interface;
    return testbed_policy().classify(v, meta);
}

std::vector<std::uint8_t> packet(bool v6, const source& s, bool tcp, std::uint16_t dport) {
    const std::string dst = v6 ? (s.z == zone::localhost && !s.loopback_interface ? "::1" : "2001:db8:1::1")
                               : (s.z == zone::localhost && !s.loopback_interface ? "127.0.0.1" : "192.0.2.1");
    auto b = v6 ? packet_builder::ipv6(s.v6, dst) : packet_builder::ipv4(s.v4, dst);
    if (tcp) b.tcp(40000, dport);
    else b.udp(40000, dport);
    return b.payload(20).build();
}

}  // namespace

TEST_CASE("every row of the ports doc, from every zone, IPv4 and IPv6", "[policy][doc]") {
    std::size_t checked = 0;
    for (const doc_row& row : doc_rows())
        for (const bool tcp : {true, false}) {
            if ((tcp && !row.tcp) || (!tcp && !row.udp)) continue;
            for (const std::uint16_t port : row.ports)
                for (const source& s : sources)
                    for (const bool v6 : {false, true}) {
                        INFO(row.service << " " << port << (tcp ? "/tcp" : "/udp") << " from " << to_string(s.z)
                                         << " " << (v6 ? s.v6 : s.v4) << (s.loopback_interface ? " on lo" : ""));
                        const decision d = judge(packet(v6, s, tcp, port), s.loopback_interface);
                        CHECK(d.from == s.z);
                        if (s.z == zone::blocked) {
                            CHECK(d.action == verdict::drop);
                            CHECK(d.why == reason::blocked);
                            continue;
                        }
                        CHECK(testbed_policy().service_name(d.service) == row.service);
                        const bool expect = allowed(row.e, s.z);
                        CHECK(d.action == (expect ? verdict::accept : verdict::drop));
                        CHECK(d.why == (expect ? reason::allowed : reason::zone_not_allowed));
                        ++checked;
                    }
        }
    CHECK(checked > 400);
}

TEST_CASE("ports no service claims: range edges and the other protocol", "[policy][doc]") {
    struct row { bool tcp; std::uint16_t port; };
    const row rows[] = {
        {false, 9999}, {false, 20001}, {true, 5999}, {false, 5999}, {true, 6200}, {false, 6200},
        {false, 3999}, {false, 5000},  {true, 5060}, {false, 22},   {false, 5061}, {true, 10000},
        {true, 4569},  {true, 4000},   {false, 443}, {true, 1},     {false, 65535},
    };
    for (const row& r : rows)
        for (const source& s : sources)
            for (const bool v6 : {false, true}) {
                INFO(r.port << (r.tcp ? "/tcp" : "/udp") << " from " << to_string(s.z) << (v6 ? " v6" : " v4"));
                const decision d = judge(packet(v6, s, r.tcp, r.port), s.loopback_interface);
                CHECK(d.service == no_service_id);
                if (s.z == zone::blocked) {
                    CHECK(d.why == reason::blocked);
                    CHECK(d.action == verdict::drop);
                } else {
                    CHECK(d.why == reason::no_service);
                    // The host's own processes talk over loopback on unlisted ports.
                    CHECK(d.action == (s.z == zone::localhost ? verdict::accept : verdict::drop));
                }
            }
}

TEST_CASE("the shipped policy defines exactly the contract's service names", "[policy][doc]") {
    const compiled_policy& cp = testbed_policy();
    std::vector<std::string> names;
    for (unsigned id = 1; id <= cp.service_count(); ++id) names.emplace_back(cp.service_name(static_cast<service_id>(id)));
    std::vector<std::string> expected;
    for (const doc_row& row : doc_rows()) expected.emplace_back(row.service);
    std::sort(names.begin(), names.end());
    std::sort(expected.begin(), expected.end());
    CHECK(names == expected);
    CHECK(builtin_service_names().size() == expected.size());
}
