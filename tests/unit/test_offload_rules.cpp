// Flow offload in `pbxgate rules`: the CONNMARK pair(s) ahead of the queue, only our bits.
#include <catch2/catch.hpp>

#include <sstream>
#include <string>
#include <vector>

#include "pbxgate/policy.hpp"
#include "pbxgate/rules.hpp"
#include "test_helpers.hpp"

using namespace pbxgate;
using pbxgate::test::rule_lines;

namespace {

std::size_t index_of(const std::vector<std::string>& lines, const std::string& part) {
    for (std::size_t i = 0; i < lines.size(); ++i)
        if (lines[i].find(part) != std::string::npos) return i;
    return lines.size();
}

policy with_offload(bool rtp_offload, bool drops, std::uint32_t mask) {
    policy pol;
    pol.files = {"site.toml"};
    service_def rtp;
    rtp.name = "rtp";
    rtp.ports = {{10000, 20000}};
    rtp.offload = rtp_offload;
    pol.services.push_back(rtp);
    pol.engine.offload_drops = drops;
    pol.engine.mark_mask = mask;
    pol.engine.protected_addresses = {*parse_prefix("192.0.2.0/24"), *parse_prefix("2001:db8:1::/64")};
    return pol;
}

}  // namespace

TEST_CASE("offload rules: before the queue, only our bits, drop pair when asked", "[offload][rules]") {
    struct row {
        const char* what;
        bool rtp_offload, drops;
        std::uint32_t mask;
        std::vector<std::string> expected;  // the offload lines, in order (iptables)
    };
    const row rows[] = {
        {"no offload at all", false, false, 0x00f00000, {}},
        {"rtp offloads, default mask", true, false, 0x00f00000,
         {"-m mark --mark 0x00100000/0x00f00000 -j CONNMARK --save-mark --nfmask 0x00f00000 --ctmask 0x00f00000",
          "-m connmark --mark 0x00100000/0x00f00000 -j ACCEPT"}},
        {"drops offloaded too", true, true, 0x00f00000,
         {"-m mark --mark 0x00100000/0x00f00000 -j CONNMARK --save-mark --nfmask 0x00f00000 --ctmask 0x00f00000",
          "-m connmark --mark 0x00100000/0x00f00000 -j ACCEPT",
          "-m mark --mark 0x00200000/0x00f00000 -j CONNMARK --save-mark --nfmask 0x00f00000 --ctmask 0x00f00000",
          "-m connmark --mark 0x00200000/0x00f00000 -j DROP"}},
        {"only drops offloaded, custom mask", false, true, 0x00000300,
         {"-m mark --mark 0x00000100/0x00000300 -j CONNMARK --save-mark --nfmask 0x00000300 --ctmask 0x00000300",
          "-m connmark --mark 0x00000100/0x00000300 -j ACCEPT",
          "-m mark --mark 0x00000200/0x00000300 -j CONNMARK --save-mark --nfmask 0x00000300 --ctmask 0x00000300",
          "-m connmark --mark 0x00000200/0x00000300 -j DROP"}},
    };
    for (const auto& r : rows) {
        for (const placement place : {placement::host, placement::router}) {
            for (const ip_family fam : {ip_family::v4, ip_family::v6}) {
                INFO(r.what << (place == placement::host ? " host" : " router") << (fam == ip_family::v4 ? " v4" : " v6"));
                rules_options opt;
                opt.place = place;
                const auto out = iptables_restore_text(with_offload(r.rtp_offload, r.drops, r.mask), opt, fam);
                REQUIRE(out.ok());
                const auto lines = rule_lines(out.text);
                const std::string add = "-A " + std::string(our_chain(place)) + " ";
                // The offload lines come first in our chain, right after the flush.
                const std::size_t flush = index_of(lines, "-F ");
                REQUIRE(flush < lines.size());
                for (std::size_t i = 0; i < r.expected.size(); ++i) {
                    REQUIRE(flush + 1 + i < lines.size());
                    CHECK(lines[flush + 1 + i] == add + r.expected[i]);
                }
                CHECK(index_of(lines, "CONNMARK") == (r.expected.empty() ? lines.size() : flush + 1));
                CHECK(index_of(lines, "NFQUEUE") > flush + r.expected.size());
            }
        }
    }
}

TEST_CASE("offload rules, nft: the same pairs, masked, before the queue", "[offload][rules]") {
    rules_options opt;
    opt.backend = rules_backend::nft;
    const auto out = generate_rules(with_offload(true, true, 0x00f00000), opt);
    REQUIRE(out.ok());
    const auto lines = rule_lines(out.text);
    const std::size_t save = index_of(lines, "meta mark and 0x00f00000 == 0x00100000 ct mark set ct mark and 0xff0fffff or 0x00100000");
    const std::size_t accept = index_of(lines, "ct mark and 0x00f00000 == 0x00100000 accept");
    const std::size_t drop_save = index_of(lines, "meta mark and 0x00f00000 == 0x00200000 ct mark set ct mark and 0xff0fffff or 0x00200000");
    const std::size_t drop = index_of(lines, "ct mark and 0x00f00000 == 0x00200000 drop");
    const std::size_t queue = index_of(lines, "queue num");
    CHECK(save < accept);
    CHECK(accept < drop_save);
    CHECK(drop_save < drop);
    CHECK(drop < queue);
    REQUIRE(queue < lines.size());
    // Without offload, no mark is touched.
    const auto plain = generate_rules(with_offload(false, false, 0x00f00000), opt);
    CHECK(plain.text.find("mark") == std::string::npos);
}
