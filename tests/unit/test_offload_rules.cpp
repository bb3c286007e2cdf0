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

policy with_offload(bool rtp_offload, std::uint32_t mask) {
    policy pol;
    pol.files = {"site.toml"};
    service_def rtp;
    rtp.name = "rtp";
    rtp.ports = {{10000, 20000}};
    rtp.offload = rtp_offload;
    pol.services.push_back(rtp);
    pol.engine.mark_mask = mask;
    pol.engine.protected_addresses = {*parse_prefix("192.0.2.0/24"), *parse_prefix("2001:db8:1::/64")};
    return pol;
}

}  // namespace

TEST_CASE("offload rules: before the queue, after the pre-filter, only our bits", "[offload][rules]") {
    struct row {
        const char* what;
        bool rtp_offload;
        std::uint32_t mask;
        std::vector<std::string> expected;  // the offload lines, in order (iptables)
    };
    const row rows[] = {
        {"no offload at all", false, 0x00f00000, {}},
        {"rtp offloads, default mask", true, 0x00f00000,
         {"-m mark --mark 0x00100000/0x00f00000 -j CONNMARK --save-mark --nfmask 0x00f00000 --ctmask 0x00f00000",
          "-m connmark --mark 0x00100000/0x00f00000 -j ACCEPT"}},
        {"rtp offloads, custom mask", true, 0x00000300,
         {"-m mark --mark 0x00000100/0x00000300 -j CONNMARK --save-mark --nfmask 0x00000300 --ctmask 0x00000300",
          "-m connmark --mark 0x00000100/0x00000300 -j ACCEPT"}},
    };
    for (const auto& r : rows) {
        for (const placement place : {placement::host, placement::router}) {
            for (const ip_family fam : {ip_family::v4, ip_family::v6}) {
                INFO(r.what << (place == placement::host ? " host" : " router") << (fam == ip_family::v4 ? " v4" : " v6"));
                rules_options opt;
                opt.place = place;
                const auto out = iptables_restore_text(with_offload(r.rtp_offload, r.mask), opt, fam);
                REQUIRE(out.ok());
                const auto lines = rule_lines(out.text);
                const std::string add = "-A " + std::string(our_chain(place)) + " ";
                // The pre-filter drops come first after the flush, then the offload lines.
                const std::size_t flush = index_of(lines, "-F ");
                REQUIRE(flush < lines.size());
                const std::size_t prefilter = index_of(lines, "--match-set");
                CHECK(prefilter == flush + 1);
                std::size_t first = flush + 1;
                while (first < lines.size() && lines[first].find("--match-set") != std::string::npos) ++first;
                for (std::size_t i = 0; i < r.expected.size(); ++i) {
                    REQUIRE(first + i < lines.size());
                    CHECK(lines[first + i] == add + r.expected[i]);
                }
                CHECK(index_of(lines, "CONNMARK") == (r.expected.empty() ? lines.size() : first));
                CHECK(index_of(lines, "NFQUEUE") >= first + r.expected.size());
                // No drop is ever offloaded: a new flow's saved mark dies with its dropped packet.
                CHECK(index_of(lines, "-j DROP") == prefilter);
                CHECK(out.text.find("connmark --mark 0x00200000") == std::string::npos);
            }
        }
    }
}

TEST_CASE("offload rules, nft: the same pair, masked, before the queue", "[offload][rules]") {
    rules_options opt;
    opt.backend = rules_backend::nft;
    const auto out = generate_rules(with_offload(true, 0x00f00000), opt);
    REQUIRE(out.ok());
    const auto lines = rule_lines(out.text);
    const std::size_t save = index_of(lines, "meta mark and 0x00f00000 == 0x00100000 ct mark set ct mark and 0xff0fffff or 0x00100000");
    const std::size_t accept = index_of(lines, "ct mark and 0x00f00000 == 0x00100000 accept");
    const std::size_t queue = index_of(lines, "queue num");
    CHECK(save < accept);
    CHECK(accept < queue);
    REQUIRE(queue < lines.size());
    CHECK(index_of(lines, "== 0x00200000") == lines.size());
    // Without offload, no mark is touched.
    const auto plain = generate_rules(with_offload(false, 0x00f00000), opt);
    CHECK(plain.text.find("mark") == std::string::npos);
}
