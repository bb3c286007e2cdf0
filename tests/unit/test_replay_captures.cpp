// Real captures from ../shared/pcaps judged with the shipped policy (policies/freepbx.toml).
// Expected counts were worked out by hand: each capture's sources, protocols and
// destination ports were listed with an independent reader, then matched against the
// policy's table (lan = RFC 1918 + fc00::/7 + fe80::/10, nothing trusted or blocked).
#include <catch2/catch.hpp>

#include <map>
#include <string>

#include "pbxgate/replay.hpp"

using namespace pbxgate;

namespace {

const compiled_policy& shipped_policy() {
    static const auto cp = [] {
        const load_result r = load_policy(PBXGATE_SOURCE_DIR "/policies/freepbx.toml");
        REQUIRE(r.ok());
        return compiled_policy::compile(*r.value);
    }();
    return *cp;
}

struct capture_row {
    const char* file;
    std::uint64_t packets, accept, drop, skipped;
    std::map<std::string, std::uint64_t> services;  // service name -> packets ("none" for no service)
    std::map<std::string, std::uint64_t> reasons;
    const char* why;  // how the numbers follow from the policy
};

}  // namespace

TEST_CASE("shipped policy on real captures: hand-computed verdict counts", "[replay][pcap]") {
    const capture_row rows[] = {
        {"asterisk_40msalaw.pcap", 826, 826, 0, 0, {{"rtp", 826}}, {{"allowed", 826}},
         "internet 92.63.153.84 -> udp 18390, inside RTP 10000-20000 which allows internet"},
        {"asterisk_A_party_g711a.pcap", 5535, 0, 5535, 0, {{"none", 5535}}, {{"no_service", 5535}},
         "RTP to udp 35886, outside the RTP range: no service claims it"},
        {"asterisk_CARRIER_G711U.pcap", 800, 800, 0, 0, {{"rtp", 800}}, {{"allowed", 800}},
         "internet carrier -> udp 13030 (RTP range)"},
        {"asterisk_ulaw-2013785496.pcap", 974, 974, 0, 0, {{"rtp", 974}}, {{"allowed", 974}},
         "lan 10.0.0.51 -> udp 10866 (RTP range), Linux cooked capture"},
        {"asterisk_opus_48khz_60_fec_rtp.pcapng", 3000, 3000, 0, 0, {{"rtp", 3000}}, {{"allowed", 3000}},
         "lan 10.24.17.53 -> udp 16596 (RTP range), pcapng"},
        {"sipp_g711a.pcap", 236, 0, 236, 0, {{"none", 236}}, {{"no_service", 236}},
         "lan 10.1.3.143 -> udp 2006 (the README lists the flow the other way round): no service claims 2006"},
        {"asterisk_ast-2016-003_fax_crash.pcap", 128, 0, 128, 0, {{"none", 128}}, {{"no_service", 128}},
         "UDPTL exploit replayed to udp port 2, which no service claims"},
        {"arkime_ssh2.pcap", 22, 11, 11, 0, {{"ssh", 11}, {"none", 11}}, {{"allowed", 11}, {"no_service", 11}},
         "lan 10.0.0.1 -> tcp 22 (ssh allows lan); the server's replies go to an ephemeral port"},
        {"initconf_BadUserAgent-sipvicious.pcap", 26, 26, 0, 0, {{"sip", 26}}, {{"allowed", 26}},
         "internet scanners -> udp 5060: SIP is open to the internet by default (moving it is the advice)"},
        {"ndpi_iax.pcap", 50, 50, 0, 0, {{"iax", 22}, {"udptl", 28}}, {{"allowed", 50}},
         "lan 192.168.2.120 -> udp 4569 (iax, lan only); the internet peer's side goes to udp 4566, "
         "which sits in the UDPTL range 4000-4999 (open to the internet)"},
        {"arkime_tftp_rrq.pcap", 99, 1, 98, 0, {{"tftp", 1}, {"none", 98}}, {{"allowed", 1}, {"no_service", 98}},
         "only the read request hits udp 69; the transfer runs between ephemeral ports"},
        {"heplify_sip_ipv6_udp.pcap", 6, 6, 0, 0, {{"sip", 6}}, {{"allowed", 6}},
         "fe80:: (lan) and fec0:: (internet: fec0::/10 is not fc00::/7) -> udp 5060"},
        {"heplify_sip_sctp.pcap", 5, 0, 5, 0, {{"none", 5}}, {{"unsupported_protocol", 5}},
         "SIP over SCTP: not TCP/UDP/ICMP, default verdict"},
        {"suricata_sip-tcp.pcap", 11, 11, 0, 0, {{"none", 11}}, {{"no_service", 11}},
         "127.0.0.1 -> tcp 5060 and back: sip is udp, but loopback traffic to unclaimed ports gets "
         "localhost_default (accept)"},
        {"sngrep_tlssaved.pcap", 12, 6, 6, 0, {{"sip-tls", 6}, {"none", 6}}, {{"allowed", 6}, {"no_service", 6}},
         "lan phones -> tcp 5061 (sip-tls); the server's side goes to tcp 5071/2232"},
        {"heplify_ipv6_udp_fragmented.pcap", 6, 3, 3, 0, {{"none", 6}}, {{"fragment_follows", 3}, {"no_service", 3}},
         "three first fragments/whole datagrams to udp 6363 (no service), three non-first fragments"},
        {"zeek_sip-long-request-response-paths.pcap", 2, 1, 1, 0, {{"sip", 1}, {"none", 1}},
         {{"allowed", 1}, {"no_service", 1}}, "raw IPv4 link type: OPTIONS to udp 5060, the answer to 50600"},
        {"sngrep_ipip.pcap", 4, 0, 4, 0, {{"none", 4}}, {{"no_service", 2}, {"unsupported_protocol", 2}},
         "two IP-in-IP packets (protocol 4) and two TCP segments to an ephemeral port"},
        {"heplify_rtp_rtcp_sip_ipv4_udp.pcap", 4105, 567, 3538, 164,
         {{"sip", 11}, {"udptl", 556}, {"admin-http", 208}}, {{"allowed", 567}, {"zone_not_allowed", 208}},
         "internet 200.57.7.x: 11 to udp 5060, 556 to udp 4800/4801 (UDPTL range 4000-4999 is open), "
         "208 to tcp 80 (admin-http: localhost only); RTP here uses ports outside 10000-20000; "
         "164 CDP/STP/ARP frames are not IP"},
    };
    const compiled_policy& cp = shipped_policy();
    for (const capture_row& row : rows) {
        INFO(row.file << ": " << row.why);
        const capture_contents cap = read_capture(std::string(PBXGATE_SHARED_DIR "/pcaps/") + row.file);
        replay_tally t;
        replay_capture(cp, cap, t);
        CHECK(t.packets == row.packets);
        CHECK(t.accept == row.accept);
        CHECK(t.drop == row.drop);
        CHECK(t.skipped == row.skipped);
        for (const auto& [name, count] : row.services) {
            INFO("service " << name);
            std::uint64_t got = t.by_service[0];
            if (name != "none") {
                got = 0;
                for (unsigned id = 1; id <= cp.service_count(); ++id)
                    if (cp.service_name(static_cast<service_id>(id)) == name) got = t.by_service[id];
            }
            CHECK(got == count);
        }
        for (const auto& [name, count] : row.reasons) {
            INFO("reason " << name);
            std::uint64_t got = 0;
            for (unsigned r = 0; r < reason_count; ++r)
                if (to_string(static_cast<reason>(r)) == name) got = t.by_reason[r];
            CHECK(got == count);
        }
    }
}

TEST_CASE("hostile captures are judged without a crash, every IP packet gets a verdict", "[replay][pcap]") {
    const char* files[] = {"ndpi_badpackets.pcap", "ndpi_fuzz-2006-06-26-2594.pcap",
                           "tcpdump_rtp-seg-fault-1.pcapng", "tcpdump_tftp-heapoverflow.pcap",
                           "suricata_sip-body-large.pcap"};
    const compiled_policy& cp = shipped_policy();
    for (const char* file : files) {
        INFO(file);
        const capture_contents cap = read_capture(std::string(PBXGATE_SHARED_DIR "/pcaps/") + file);
        replay_tally t;
        replay_capture(cp, cap, t);
        CHECK(t.packets + t.skipped == cap.frames);
        CHECK(t.accept + t.drop == t.packets);
    }
}
