// prefix_set: membership of addresses in a short list of prefixes (router placement's
// protected addresses), checked against ip_prefix::contains over the same list.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "pbxgate/prefix_set.hpp"

using namespace pbxgate;

namespace {

ip_address addr(const std::string& text) {
    const auto a = parse_address(text);
    REQUIRE(a);
    return *a;
}

std::vector<ip_prefix> prefixes(const std::vector<std::string>& texts) {
    std::vector<ip_prefix> out;
    for (const auto& t : texts) {
        const auto p = parse_prefix(t);
        REQUIRE(p);
        out.push_back(*p);
    }
    return out;
}

}  // namespace

TEST_CASE("prefix_set: membership by address", "[prefix_set]") {
    struct row {
        const char* what;
        std::vector<std::string> set;
        const char* address;
        bool member;
    };
    const std::vector<row> rows = {
        {"empty set", {}, "192.0.2.1", false},
        {"v4 host", {"192.0.2.1"}, "192.0.2.1", true},
        {"v4 host, neighbour below", {"192.0.2.1"}, "192.0.2.0", false},
        {"v4 host, neighbour above", {"192.0.2.1"}, "192.0.2.2", false},
        {"v4 /24 first", {"198.51.100.0/24"}, "198.51.100.0", true},
        {"v4 /24 last", {"198.51.100.0/24"}, "198.51.100.255", true},
        {"v4 /24 past the end", {"198.51.100.0/24"}, "198.51.101.0", false},
        {"v4 every address", {"0.0.0.0/0"}, "255.255.255.255", true},
        {"v4 set, v6 address", {"0.0.0.0/0"}, "2001:db8::1", false},
        {"v4-mapped v6 address meets the v4 list", {"192.0.2.0/24"}, "::ffff:192.0.2.7", true},
        {"v6 host", {"2001:db8::1"}, "2001:db8::1", true},
        {"v6 host, neighbour", {"2001:db8::1"}, "2001:db8::2", false},
        {"v6 /32 last", {"2001:db8::/32"}, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", true},
        {"v6 /32 past the end", {"2001:db8::/32"}, "2001:db9::", false},
        {"v6 every address", {"::/0"}, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true},
        {"v6 set, v4 address", {"::/0"}, "192.0.2.1", false},
        {"nested prefixes", {"203.0.113.0/24", "203.0.113.128/25"}, "203.0.113.5", true},
        {"adjacent prefixes fuse", {"203.0.113.0/25", "203.0.113.128/25"}, "203.0.113.128", true},
        {"gap between prefixes", {"192.0.2.0/25", "198.51.100.0/24"}, "192.0.2.200", false},
        {"second of several", {"192.0.2.1", "198.51.100.0/24", "2001:db8::/48"}, "198.51.100.9", true},
        {"unsorted input", {"203.0.113.9", "192.0.2.1", "198.51.100.4"}, "192.0.2.1", true},
    };
    for (const auto& r : rows) {
        INFO(r.what);
        const auto list = prefixes(r.set);
        const prefix_set s = prefix_set::build(list);
        CHECK(s.empty() == r.set.empty());
        CHECK(s.contains(addr(r.address)) == r.member);
    }
}

TEST_CASE("prefix_set: agrees with ip_prefix::contains across each prefix's edges", "[prefix_set]") {
    const auto list = prefixes({"192.0.2.64/26", "192.0.2.130", "198.51.100.0/23", "2001:db8:1::/48", "2001:db8:2::7"});
    const prefix_set s = prefix_set::build(list);
    const std::vector<std::string> probes = {
        "192.0.2.63",  "192.0.2.64",  "192.0.2.127", "192.0.2.128", "192.0.2.129", "192.0.2.130", "192.0.2.131",
        "198.51.99.255", "198.51.100.0", "198.51.101.255", "198.51.102.0", "2001:db8:0:ffff:ffff:ffff:ffff:ffff",
        "2001:db8:1::", "2001:db8:1:ffff:ffff:ffff:ffff:ffff", "2001:db8:2::", "2001:db8:2::6", "2001:db8:2::7",
        "2001:db8:2::8",
    };
    for (const auto& p : probes) {
        INFO(p);
        bool expected = false;
        for (const auto& x : list) expected = expected || x.contains(addr(p));
        CHECK(s.contains(addr(p)) == expected);
    }
}
