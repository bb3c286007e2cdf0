#include <catch2/catch.hpp>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "pbxgate/policy.hpp"
#include "pbxgate/rules.hpp"
#include "test_helpers.hpp"

using namespace pbxgate;
using pbxgate::test::rule_lines;

namespace {

ip_prefix prefix(const char* text) {
    const auto p = parse_prefix(text);
    REQUIRE(p);
    return *p;
}

// 192.0.2.10 sits inside 192.0.2.0/24 and 2001:db8:1::5 inside 2001:db8:1::/48: the
// generator keeps only the outer prefixes.
policy sample_policy() {
    policy pol;
    pol.files = {"site.toml"};
    pol.engine.protected_addresses = {prefix("192.0.2.10"), prefix("192.0.2.0/24"), prefix("2001:db8:1::5"),
                                      prefix("198.51.100.0/25"), prefix("2001:db8:1::/48")};
    return pol;
}

bool has(const std::string& line, const std::string& part) { return line.find(part) != std::string::npos; }

std::size_t first_index(const std::vector<std::string>& lines, const std::string& part) {
    for (std::size_t i = 0; i < lines.size(); ++i)
        if (has(lines[i], part)) return i;
    return lines.size();
}

std::size_t last_index(const std::vector<std::string>& lines, const std::string& part) {
    std::size_t found = lines.size();
    for (std::size_t i = 0; i < lines.size(); ++i)
        if (has(lines[i], part)) found = i;
    return found;
}

struct combo {
    placement place;
    fail_mode fail;
    queue_range queues;
    bool fanout;
    ip_family fam;
    rules_backend backend;
};

std::string describe(const combo& c) {
    std::ostringstream s;
    s << (c.place == placement::host ? "host" : "router") << " fail=" << (c.fail == fail_mode::open ? "open" : "closed")
      << " queues=" << c.queues.first << "-" << c.queues.last << " fanout=" << c.fanout
      << " " << (c.fam == ip_family::v4 ? "ipv4" : "ipv6") << " " << (c.backend == rules_backend::nft ? "nft" : "iptables");
    return s.str();
}

std::vector<combo> all_combos() {
    std::vector<combo> rows;
    for (auto place : {placement::host, placement::router})
        for (auto fail : {fail_mode::open, fail_mode::closed})
            for (auto queues : {queue_range{0, 0}, queue_range{0, 3}})
                for (bool fanout : {false, true})
                    for (auto fam : {ip_family::v4, ip_family::v6})
                        for (auto backend : {rules_backend::iptables, rules_backend::nft})
                            rows.push_back({place, fail, queues, fanout, fam, backend});
    return rows;
}

rules_options options_of(const combo& c) {
    rules_options opt;
    opt.place = c.place;
    opt.fail = c.fail;
    opt.queues = c.queues;
    opt.cpu_fanout = c.fanout;
    opt.family = c.fam == ip_family::v4 ? rules_family::ipv4 : rules_family::ipv6;
    opt.backend = c.backend;
    return opt;
}

// The prefixes router placement must queue, per family, after dropping contained ones.
std::vector<std::string> expected_guarded(ip_family fam) {
    if (fam == ip_family::v4) return {"192.0.2.0/24", "198.51.100.0/25"};
    return {"2001:db8:1::/48"};
}

}  // namespace

TEST_CASE("queue ranges parse, and bad ones say why", "[rules]") {
    struct row { const char* text; bool ok; queue_range range; const char* error_part; };
    const row rows[] = {
        {"0", true, {0, 0}, ""},          {"3", true, {3, 3}, ""},
        {"0-3", true, {0, 3}, ""},        {"65535", true, {65535, 65535}, ""},
        {"7-7", true, {7, 7}, ""},        {"3-1", false, {}, "above the last"},
        {"65536", false, {}, "0 to 65535"}, {"", false, {}, "expected N"},
        {"-3", false, {}, "expected N"},  {"1-", false, {}, "expected N"},
        {"a-b", false, {}, "expected N"}, {"1-2-3", false, {}, "expected N"},
        {" 1", false, {}, "expected N"},  {"1:3", false, {}, "expected N"},
    };
    for (const auto& r : rows) {
        INFO(r.text);
        std::string err;
        const auto q = parse_queue_range(r.text, &err);
        REQUIRE(q.has_value() == r.ok);
        if (r.ok) CHECK(*q == r.range);
        else CHECK(has(err, r.error_part));
    }
}

TEST_CASE("every combination: order, bypass, queues, fanout, family, our chains only", "[rules]") {
    const policy pol = sample_policy();
    for (const combo& c : all_combos()) {
        INFO(describe(c));
        const auto out = generate_rules(pol, options_of(c));
        if (c.fanout && c.queues.single()) {  // nothing to fan out over: refused, not ignored
            CHECK_FALSE(out.ok());
            CHECK(has(out.error, "--cpu-fanout"));
            CHECK(out.text.empty());
            continue;
        }
        REQUIRE(out.ok());
        const auto lines = rule_lines(out.text);
        const bool ipt = c.backend == rules_backend::iptables;
        const std::string queue_word = ipt ? "-j NFQUEUE" : "queue num ";
        const std::string reply_word = ipt ? "-m conntrack --ctdir REPLY -j ACCEPT" : "ct direction reply accept";
        const std::size_t expected_queue_rules =
            c.place == placement::host ? 1 : (ipt ? expected_guarded(c.fam).size() : 1);

        std::size_t queue_rules = 0, reply_rules = 0;
        for (const auto& line : lines) {
            INFO(line);
            if (has(line, reply_word)) ++reply_rules;
            if (!has(line, queue_word)) continue;
            ++queue_rules;
            CHECK(has(line, "bypass") == (c.fail == fail_mode::open));
            CHECK(has(line, "fanout") == c.fanout);
            if (ipt) {
                CHECK(has(line, "--queue-num 0") == c.queues.single());
                CHECK(has(line, "--queue-balance 0:3") == !c.queues.single());
            } else {
                CHECK(has(line, "queue num 0-3") == !c.queues.single());
            }
        }
        CHECK(queue_rules == expected_queue_rules);
        CHECK(reply_rules == expected_queue_rules);  // every queued destination has its reply accept
        CHECK(last_index(lines, reply_word) < first_index(lines, queue_word));

        // Nothing outside pbxgate's own chain or table, and never the jump.
        const std::string chain(our_chain(c.place));
        if (ipt) {
            for (const auto& line : lines) {
                INFO(line);
                const bool ours = line == "*filter" || line == "COMMIT" || line == ":" + chain + " - [0:0]" ||
                                  line == "-F " + chain || line.rfind("-A " + chain + " ", 0) == 0;
                CHECK(ours);
            }
            CHECK(first_index(lines, "-F " + chain) < first_index(lines, "-A "));
        } else {
            for (const auto& line : lines)
                if (line.rfind("table ", 0) == 0 || line.rfind("delete ", 0) == 0) {
                    INFO(line);
                    CHECK(has(line, " pbxgate"));
                }
            const char* table = c.fam == ip_family::v4 ? "table ip pbxgate {" : "table ip6 pbxgate {";
            CHECK(first_index(lines, table) < lines.size());
            const char* hook = c.place == placement::host ? "hook input" : "hook forward";
            CHECK(first_index(lines, hook) < lines.size());
        }

        // Addresses: host placement matches none (loopback included); router placement
        // only the guarded prefixes of this family.
        const std::string addr_word = ipt ? "-d " : (c.fam == ip_family::v4 ? "ip daddr " : "ip6 daddr ");
        const std::string other_family_word = c.fam == ip_family::v4 ? "ip6 daddr" : "ip daddr";
        CHECK(first_index(lines, other_family_word) == lines.size());
        CHECK(first_index(lines, "-i lo") == lines.size());
        CHECK(first_index(lines, "iif") == lines.size());
        if (c.place == placement::host) {
            CHECK(first_index(lines, addr_word) == lines.size());
            continue;
        }
        const auto guarded = expected_guarded(c.fam);
        std::vector<std::string> queued_prefixes;
        for (const auto& line : lines) {
            if (!has(line, queue_word) && !has(line, reply_word)) continue;
            INFO(line);
            if (ipt) {  // one prefix per rule
                const auto at = line.find("-d ");
                REQUIRE(at != std::string::npos);
                const auto p = line.substr(at + 3, line.find(' ', at + 3) - at - 3);
                CHECK(std::find(guarded.begin(), guarded.end(), p) != guarded.end());
                if (has(line, queue_word)) queued_prefixes.push_back(p);
            } else {  // one set with all of them
                std::string set = "{ ";
                for (const auto& p : guarded) set += (set.size() > 2 ? ", " : "") + p;
                CHECK(has(line, addr_word + set + " }"));
                if (has(line, queue_word)) queued_prefixes = guarded;
            }
            CHECK_FALSE(has(line, "192.0.2.10"));     // inside 192.0.2.0/24
            CHECK_FALSE(has(line, "2001:db8:1::5"));  // inside 2001:db8:1::/48
            const auto other = c.fam == ip_family::v4 ? ip_family::v6 : ip_family::v4;
            for (const auto& p : expected_guarded(other)) CHECK_FALSE(has(line, p));
        }
        CHECK(queued_prefixes == guarded);
    }
}

TEST_CASE("defaults come from the policy, options override them", "[rules]") {
    struct row { placement policy_place; fail_mode policy_fail; std::optional<placement> opt_place;
                 std::optional<fail_mode> opt_fail; const char* chain; bool bypass; };
    const row rows[] = {
        {placement::host, fail_mode::open, {}, {}, "PBXGATE-INPUT", true},
        {placement::router, fail_mode::closed, {}, {}, "PBXGATE-FORWARD", false},
        {placement::router, fail_mode::closed, placement::host, fail_mode::open, "PBXGATE-INPUT", true},
        {placement::host, fail_mode::open, placement::router, fail_mode::closed, "PBXGATE-FORWARD", false},
    };
    for (const auto& r : rows) {
        INFO(r.chain << " bypass=" << r.bypass);
        policy pol = sample_policy();
        pol.engine.place = r.policy_place;
        pol.engine.fail = r.policy_fail;
        rules_options opt;
        opt.place = r.opt_place;
        opt.fail = r.opt_fail;
        const auto out = iptables_restore_text(pol, opt, ip_family::v4);
        REQUIRE(out.ok());
        CHECK(has(out.text, std::string(":") + r.chain + " - [0:0]"));
        CHECK(has(out.text, "--queue-bypass") == r.bypass);
    }
}

TEST_CASE("refused combinations say why, a family without protected addresses queues nothing", "[rules]") {
    policy none = sample_policy();
    none.engine.protected_addresses.clear();
    policy v6_only = sample_policy();
    v6_only.engine.protected_addresses = {prefix("2001:db8::/64")};
    struct row { const char* name; const policy* pol; rules_family fam; rules_backend backend; bool ok;
                 const char* error_part; std::size_t queue_rules; };
    const row rows[] = {
        {"router, no protected address", &none, rules_family::both, rules_backend::iptables, false, "protected_addresses", 0},
        {"router, no protected address, nft", &none, rules_family::both, rules_backend::nft, false, "protected_addresses", 0},
        {"router, IPv6 only, IPv4 asked", &v6_only, rules_family::ipv4, rules_backend::iptables, true, "", 0},
        {"router, IPv6 only, IPv4 asked, nft", &v6_only, rules_family::ipv4, rules_backend::nft, true, "", 0},
        {"router, IPv6 only, both", &v6_only, rules_family::both, rules_backend::iptables, true, "", 1},
        {"router, IPv6 only, both, nft", &v6_only, rules_family::both, rules_backend::nft, true, "", 1},
    };
    for (const auto& r : rows) {
        INFO(r.name);
        rules_options opt;
        opt.place = placement::router;
        opt.family = r.fam;
        opt.backend = r.backend;
        const auto out = generate_rules(*r.pol, opt);
        REQUIRE(out.ok() == r.ok);
        if (!r.ok) {
            CHECK(has(out.error, r.error_part));
            continue;
        }
        const auto lines = rule_lines(out.text);
        const auto queued = std::count_if(lines.begin(), lines.end(), [&](const std::string& l) {
            return has(l, r.backend == rules_backend::nft ? "queue num " : "-j NFQUEUE");
        });
        CHECK(static_cast<std::size_t>(queued) == r.queue_rules);
    }
}

TEST_CASE("iptables, both families: an IPv4 text then an IPv6 text, each complete", "[rules]") {
    rules_options opt;
    opt.place = placement::router;
    const auto out = generate_rules(sample_policy(), opt);
    REQUIRE(out.ok());
    const auto v4_at = out.text.find("IPv4, for iptables-restore");
    const auto v6_at = out.text.find("IPv6, for ip6tables-restore");
    REQUIRE(v4_at != std::string::npos);
    REQUIRE(v6_at != std::string::npos);
    CHECK(v4_at < v6_at);
    const std::string v4 = out.text.substr(0, v6_at), v6 = out.text.substr(v6_at);
    for (const auto& [text, mine, other] : {std::tuple{v4, "198.51.100.0/25", "2001:db8:1::/48"},
                                            std::tuple{v6, "2001:db8:1::/48", "198.51.100.0/25"}}) {
        INFO(text);
        CHECK(has(text, "*filter"));
        CHECK(has(text, "COMMIT"));
        CHECK(has(text, mine));
        CHECK_FALSE(has(text, other));
    }
}

TEST_CASE("nft script replaces every pbxgate table in one batch", "[rules]") {
    rules_options opt;
    opt.backend = rules_backend::nft;
    const auto out = generate_rules(sample_policy(), opt);
    REQUIRE(out.ok());
    const auto lines = rule_lines(out.text);
    const auto created = first_index(lines, "table inet pbxgate {");
    REQUIRE(created < lines.size());
    for (const char* fam : {"inet", "ip", "ip6"}) {
        INFO(fam);
        const std::string declare = std::string("table ") + fam + " pbxgate";
        const auto declared_at = std::find(lines.begin(), lines.end(), declare) - lines.begin();
        const auto deleted_at = std::find(lines.begin(), lines.end(), "delete " + declare) - lines.begin();
        CHECK(static_cast<std::size_t>(declared_at) < static_cast<std::size_t>(deleted_at));
        CHECK(static_cast<std::size_t>(deleted_at) < created);
    }
}

TEST_CASE("kernel pre-filter: blocked and ban sets dropped first, before offload and the queue", "[rules][kernelset]") {
    policy pol = sample_policy();
    pol.zones.blocked = {prefix("203.0.113.200"), prefix("2001:db8:3::/64")};
    service_def rtp;
    rtp.name = "rtp";
    rtp.ports = {{10000, 20000}};
    rtp.offload = true;
    pol.services.push_back(rtp);
    struct row {
        placement place;
        ip_family fam;
        std::vector<std::string> expected;  // the pre-filter rules, in order, after "-A CHAIN "
    };
    const row rows[] = {
        {placement::host, ip_family::v4,
         {"-m set --match-set pbxgate-blocked4 src -j DROP", "-m set --match-set pbxgate-ban4 src -j DROP"}},
        {placement::host, ip_family::v6,
         {"-m set --match-set pbxgate-blocked6 src -j DROP", "-m set --match-set pbxgate-ban6 src -j DROP"}},
        // Router: only traffic to the protected addresses, as the queue rules.
        {placement::router, ip_family::v4,
         {"-d 192.0.2.0/24 -m set --match-set pbxgate-blocked4 src -j DROP",
          "-d 198.51.100.0/25 -m set --match-set pbxgate-blocked4 src -j DROP",
          "-d 192.0.2.0/24 -m set --match-set pbxgate-ban4 src -j DROP",
          "-d 198.51.100.0/25 -m set --match-set pbxgate-ban4 src -j DROP"}},
        {placement::router, ip_family::v6,
         {"-d 2001:db8:1::/48 -m set --match-set pbxgate-blocked6 src -j DROP",
          "-d 2001:db8:1::/48 -m set --match-set pbxgate-ban6 src -j DROP"}},
    };
    for (const auto& r : rows) {
        INFO((r.place == placement::host ? "host" : "router") << (r.fam == ip_family::v4 ? " v4" : " v6"));
        rules_options opt;
        opt.place = r.place;
        const auto out = iptables_restore_text(pol, opt, r.fam);
        REQUIRE(out.ok());
        const auto lines = rule_lines(out.text);
        const std::string add = "-A " + std::string(our_chain(r.place)) + " ";
        const std::size_t flush = first_index(lines, "-F ");
        for (std::size_t i = 0; i < r.expected.size(); ++i) {
            REQUIRE(flush + 1 + i < lines.size());
            CHECK(lines[flush + 1 + i] == add + r.expected[i]);
        }
        CHECK(last_index(lines, "--match-set") == flush + r.expected.size());
        CHECK(last_index(lines, "--match-set") < first_index(lines, "CONNMARK"));
        CHECK(last_index(lines, "--match-set") < first_index(lines, "NFQUEUE"));
        // The other family's sets never appear.
        CHECK(first_index(lines, r.fam == ip_family::v4 ? "pbxgate-blocked6" : "pbxgate-blocked4") == lines.size());
    }
}

TEST_CASE("kernel pre-filter, nft: the blocked zone as sets, dropped before offload and queue", "[rules][kernelset]") {
    policy pol = sample_policy();
    pol.zones.blocked = {prefix("203.0.113.200"), prefix("2001:db8:3::/64")};
    rules_options opt;
    opt.backend = rules_backend::nft;
    const auto out = generate_rules(pol, opt);
    REQUIRE(out.ok());
    const auto lines = rule_lines(out.text);
    CHECK(first_index(lines, "set blocked4 {") < lines.size());
    CHECK(first_index(lines, "elements = { 203.0.113.200/32 }") < lines.size());
    CHECK(first_index(lines, "elements = { 2001:db8:3::/64 }") < lines.size());
    const std::size_t drop4 = first_index(lines, "ip saddr @blocked4 counter drop");
    const std::size_t drop6 = first_index(lines, "ip6 saddr @blocked6 counter drop");
    CHECK(drop4 < first_index(lines, "ct direction reply accept"));
    CHECK(drop6 < first_index(lines, "queue num"));
    // An empty blocked zone still declares the sets (a rule names them), without elements.
    const auto empty = generate_rules(sample_policy(), opt);
    REQUIRE(empty.ok());
    CHECK(has(empty.text, "set blocked4 {"));
    CHECK_FALSE(has(empty.text, "elements"));
    // Monitor mode drops nothing: no elements either.
    pol.engine.mode = engine_mode::monitor;
    const auto monitor = generate_rules(pol, opt);
    REQUIRE(monitor.ok());
    CHECK_FALSE(has(monitor.text, "elements"));
}
