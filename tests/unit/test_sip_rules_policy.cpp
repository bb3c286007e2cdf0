// SIP protection in the steering rules (the PBX's responses queued, always with bypass) and
// the [sip] policy keys (defaults, overrides, errors with FILE:LINE:COL).
#include <catch2/catch.hpp>

#include <map>
#include <string>

#include "pbxgate/policy.hpp"
#include "pbxgate/rules.hpp"

using namespace pbxgate;

namespace {

const std::string shipped_path = PBXGATE_SOURCE_DIR "/policies/freepbx.toml";

load_result load_site(const std::string& site) {
    file_reader disk = filesystem_reader();
    const std::string site_path = PBXGATE_SOURCE_DIR "/policies/site-under-test.toml";
    return load_policy(site_path, [&](const std::string& path) -> std::optional<std::string> {
        if (path == site_path) return site;
        return disk(path);
    });
}

policy shipped() {
    const load_result r = load_policy(shipped_path);
    REQUIRE(r.ok());
    return *r.value;
}

bool contains(const std::string& text, const std::string& what) { return text.find(what) != std::string::npos; }

}  // namespace

TEST_CASE("sip rules: the PBX's SIP responses are queued with bypass, whatever the fail mode") {
    policy p = shipped();
    rules_options o;
    o.fail = fail_mode::closed;
    const rules_output host = iptables_restore_text(p, o, ip_family::v4);
    REQUIRE(host.error.empty());
    CHECK(contains(host.text, ":PBXGATE-OUTPUT - [0:0]"));
    // Negotiated media (shipped): the PBX's SIP both ways (its INVITEs carry its SDP), and the
    // peers' answers on connections the PBX opened, before replies are accepted.
    CHECK(contains(host.text, "-A PBXGATE-OUTPUT -p udp --sport 5060 -j NFQUEUE --queue-num 0 --queue-bypass"));
    const std::string reply_rule = "-A PBXGATE-INPUT -p udp --dport 5060 -m conntrack --ctdir REPLY -j NFQUEUE "
                                   "--queue-num 0 --queue-bypass";
    CHECK(contains(host.text, reply_rule));
    CHECK(host.text.find(reply_rule) < host.text.find("-A PBXGATE-INPUT -m conntrack --ctdir REPLY -j ACCEPT"));
    CHECK_FALSE(contains(host.text, "-A PBXGATE-INPUT -j NFQUEUE --queue-num 0 --queue-bypass"));  // fail closed
    o.backend = rules_backend::nft;
    const rules_output nft = nft_script(p, o);
    CHECK(contains(nft.text, "type filter hook output priority filter"));
    CHECK(contains(nft.text, "\t\tudp sport 5060 queue num 0 bypass"));
    CHECK(contains(nft.text, "ct direction reply udp dport 5060 queue num 0 bypass"));

    p.engine.place = placement::router;
    p.engine.protected_addresses = {*parse_prefix("192.0.2.10")};
    o.backend = rules_backend::iptables;
    const rules_output router = iptables_restore_text(p, o, ip_family::v4);
    CHECK(contains(router.text, "-A PBXGATE-FORWARD -s 192.0.2.10/32 -p udp --sport 5060 -j NFQUEUE --queue-num 0 "
                                "--queue-bypass"));
    CHECK(contains(router.text, "-A PBXGATE-FORWARD -d 192.0.2.10/32 -p udp --dport 5060 -m conntrack --ctdir "
                                "REPLY -j NFQUEUE --queue-num 0 --queue-bypass"));
    CHECK_FALSE(contains(router.text, "PBXGATE-OUTPUT"));

    // Media open everywhere: only the PBX's answers, as before negotiated media.
    policy open_media = p;
    for (auto& s : open_media.services) s.media = media_mode::open;
    const rules_output old_rules = iptables_restore_text(open_media, o, ip_family::v4);
    CHECK(contains(old_rules.text, "-A PBXGATE-FORWARD -s 192.0.2.10/32 -p udp --sport 5060 -m conntrack --ctdir "
                                   "REPLY -j NFQUEUE --queue-num 0 --queue-bypass"));
    CHECK_FALSE(contains(old_rules.text, "--dport 5060 -m conntrack --ctdir REPLY"));

    p.sip.enabled = false;
    p.engine.place = placement::host;
    CHECK_FALSE(contains(iptables_restore_text(p, o, ip_family::v4).text, "PBXGATE-OUTPUT"));
}

TEST_CASE("sip policy: shipped defaults") {
    const policy p = shipped();
    CHECK(p.sip.enabled);
    CHECK(p.sip.services == std::vector<std::string>{"sip"});
    CHECK(p.sip.scanners.size() >= 17);
    CHECK(p.sip.protect_zones == zone_bit(zone::internet));
    CHECK(p.sip.capacity == 262144);
    CHECK(p.sip.auth_failures == 5);
    CHECK(p.sip.rate_tiers.size() == 3);
}

TEST_CASE("sip policy: a site file overrides keys") {
    const load_result r = load_site(
        "extends = \"freepbx.toml\"\n"
        "[sip]\n"
        "known_peers = [\"198.51.100.0/24\"]\n"
        "protect_zones = [\"internet\", \"lan\"]\n"
        "use_extra_scanners = true\n"
        "allow_agents = [\"MyTrunk\"]\n"
        "rate_tiers = [{ requests = 20, window = 60, ban = 300 }]\n"
        "capacity = 4096\n"
        "ipv6_prefix = 56\n");
    for (const auto& d : r.errors) INFO(d.to_string());
    REQUIRE(r.ok());
    const sip_settings& s = r.value->sip;
    REQUIRE(s.known_peers.size() == 1);
    CHECK(s.protect_zones == (zone_bit(zone::internet) | zone_bit(zone::lan)));
    CHECK(s.use_extra_scanners);
    CHECK(s.allow_agents == std::vector<std::string>{"MyTrunk"});
    CHECK(s.rate_tiers == std::vector<sip_rate_tier>{{20, 60, 300}});
    CHECK(s.capacity == 4096);
    CHECK(s.ipv6_prefix == 56);
}

TEST_CASE("sip policy: errors carry FILE:LINE:COL, all reported at once") {
    const load_result r = load_site(
        "extends = \"freepbx.toml\"\n"
        "[sip]\n"
        "scaners = [\"x\"]\n"                        // line 3: unknown key
        "capacity = 10\n"                            // line 4: out of range
        "ipv6_prefix = 96\n"                         // line 5: out of range
        "rate_tiers = [{ requests = 20 }]\n"         // line 6: tier without window/ban
        "services = [\"no-such-service\"]\n"         // line 7: unknown service
        "scanners = [\"\"]\n");                      // line 8: empty string
    CHECK_FALSE(r.ok());
    std::map<unsigned, std::string> by_line;
    for (const auto& d : r.errors) {
        CHECK(d.where.file.find("site-under-test.toml") != std::string::npos);
        by_line[d.where.line] += d.message + "\n";
    }
    for (const unsigned line : {3u, 4u, 5u, 6u, 7u, 8u}) {
        INFO("line " << line);
        CHECK(by_line.count(line) == 1);
    }
    CHECK(contains(by_line[7], "no-such-service"));
}
