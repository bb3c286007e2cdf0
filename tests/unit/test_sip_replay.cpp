// SIP protection replayed on real captures (../shared/pcaps): the attacks of the initconf
// traces are banned, the ordinary calls and registrations ban nobody.
#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <vector>

#include "pbxgate/replay.hpp"

using namespace pbxgate;

namespace {

std::unique_ptr<const compiled_policy> shipped(const std::function<void(policy&)>& tweak = {}) {
    load_result r = load_policy(PBXGATE_SOURCE_DIR "/policies/freepbx.toml");
    REQUIRE(r.ok());
    if (tweak) tweak(*r.value);
    return compiled_policy::compile(*r.value);
}

struct run {
    replay_tally tally;
    replay_sip sip;
    std::vector<std::pair<std::uint32_t, decision>> rows;
};

run replay(const compiled_policy& cp, const std::string& file, const std::vector<std::string>& pbx) {
    run r;
    for (const auto& p : pbx) r.sip.pbx.push_back(*parse_prefix(p));
    const capture_contents c = read_capture(std::string(PBXGATE_SHARED_DIR) + "/pcaps/" + file);
    replay_capture(cp, c, r.tally, [&](const captured_packet& p, const packet_view&, const decision& d) {
        r.rows.emplace_back(p.index, d);
    }, &r.sip);
    return r;
}

std::uint64_t by(const run& r, reason w) { return r.tally.by_reason[static_cast<unsigned>(w)]; }

}  // namespace

TEST_CASE("sip replay: every svmap scanner of the LBNL trace is banned at its first request", "[replay][sip]") {
    const auto cp = shipped();
    const run r = replay(*cp, "initconf_BadUserAgent-sipvicious.pcap", {"152.28.49.156"});
    CHECK(r.sip.bans.size() == 11);  // 11 source addresses
    std::set<std::string> sources;
    for (const auto& b : r.sip.bans) {
        CHECK(b.reason == "scanner");
        CHECK(b.duration_s == 86400);
        sources.insert(to_string(b.source));
    }
    CHECK(sources.size() == 11);
    CHECK(r.tally.accept == 0);  // no request reaches the PBX
    CHECK(by(r, reason::scanner) == 11);
    CHECK(by(r, reason::banned) == 15);
}

TEST_CASE("sip replay: the sipcli toll-fraud source is banned at its first INVITE", "[replay][sip]") {
    const auto cp = shipped();
    const run r = replay(*cp, "initconf_SIP-3700-unauthorized-401.pcap", {"157.147.97.20", "157.147.97.131"});
    REQUIRE(r.sip.bans.size() == 1);
    CHECK(r.sip.bans[0].reason == "scanner");
    CHECK(to_string(r.sip.bans[0].source) == "40.129.198.250/32");
    CHECK(r.sip.bans[0].index == 0);
    for (const auto& [index, d] : r.rows)  // only the PBX's own answers are accepted
        if (d.action == verdict::accept) CHECK(d.why == reason::allowed);
}

TEST_CASE("sip replay: the REGISTER brute force is banned within its first requests", "[replay][sip]") {
    SECTION("by request rate, with the shipped tiers") {
        const auto cp = shipped();
        const run r = replay(*cp, "initconf_SIP-Bruteforce-Single-IP.pcap", {"137.11.220.89"});
        REQUIRE_FALSE(r.sip.bans.empty());
        CHECK(r.sip.bans[0].reason == "request_rate");
        for (const auto& b : r.sip.bans) CHECK(to_string(b.source) == "199.105.226.32/32");
        CHECK(r.sip.bans.back().duration_s == 86400);  // 100 per 24 h
        // Before the first ban, at most 10 requests in 60 s got through.
        std::uint64_t accepted_requests = 0;
        for (const auto& [index, d] : r.rows) {
            if (index >= r.sip.bans[0].index) break;
            if (d.action == verdict::accept && d.from == zone::internet && d.why == reason::allowed) ++accepted_requests;
        }
        CHECK(accepted_requests <= 2 * 10);  // requests plus the PBX's answers to them
    }
    SECTION("by authentication failures, with the rate tiers out of the way") {
        const auto cp = shipped([](policy& p) { p.sip.rate_tiers = {{1000000, 1, 1}}; });
        const run r = replay(*cp, "initconf_SIP-Bruteforce-Single-IP.pcap", {"137.11.220.89"});
        REQUIRE_FALSE(r.sip.bans.empty());
        CHECK(r.sip.bans[0].reason == "auth_failures");
        CHECK(r.sip.bans[0].duration_s == 3600);
        CHECK(by(r, reason::auth_failures) >= 1);
    }
}

TEST_CASE("sip replay: ordinary calls and registrations ban nobody", "[replay][sip]") {
    const auto cp = shipped();
    const std::vector<std::pair<std::string, std::vector<std::string>>> rows{
        {"heplify_rtp_rtcp_sip_ipv4_udp.pcap", {"200.57.7.195"}},
        {"heplify_sip_ipv4_tcp.pcap", {"10.33.6.101"}},
        {"sngrep_aaa.pcap", {"212.242.33.35", "200.68.120.81"}},
        {"suricata_sip-tcp.pcap", {"127.0.0.1"}},
        {"heplify_sip_ipv6_udp.pcap", {"fec0::216:d3ff:fe0d:22c"}},
        {"heplify_sip_tcp_websocket.pcap", {"10.243.0.157"}},
        {"zeek_sip-long-request-response-paths.pcap", {"198.51.100.20"}},
        {"suricata_sip-body-large.pcap", {"127.0.0.1"}},
    };
    for (const auto& [file, pbx] : rows) {
        INFO(file);
        const run r = replay(*cp, file, pbx);
        CHECK(r.sip.bans.empty());
        CHECK(by(r, reason::banned) == 0);
    }
}
