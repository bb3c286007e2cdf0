#include <catch2/catch.hpp>

#include "pbxgate/address.hpp"

using namespace pbxgate;

TEST_CASE("prefixes parse, and bad ones say why", "[address]") {
    struct row { const char* text; bool ok; const char* normalized_or_error_part; };
    const row rows[] = {
        {"192.0.2.0/24", true, "192.0.2.0/24"},
        {"192.0.2.7", true, "192.0.2.7/32"},
        {"0.0.0.0/0", true, "0.0.0.0/0"},
        {"2001:db8::/32", true, "2001:db8::/32"},
        {"2001:db8::1", true, "2001:db8::1/128"},
        {"192.0.2.1/24", false, "host bits set"},
        {"192.0.2.0/33", false, "0 to 32"},
        {"2001:db8::/129", false, "0 to 128"},
        {"192.0.2.0/", false, "0 to 32"},
        {"192.0.2.0/2x", false, "0 to 32"},
        {"300.0.0.0/8", false, "not an IPv4 or IPv6 address"},
        {"", false, "not an IPv4 or IPv6 address"},
        {"lan", false, "not an IPv4 or IPv6 address"},
    };
    for (const auto& r : rows) {
        INFO(r.text);
        std::string err;
        const auto p = parse_prefix(r.text, &err);
        REQUIRE(p.has_value() == r.ok);
        if (r.ok) CHECK(to_string(*p) == r.normalized_or_error_part);
        else CHECK(err.find(r.normalized_or_error_part) != std::string::npos);
    }
}

TEST_CASE("loopback and v4-mapped addresses", "[address]") {
    struct row { const char* addr; bool loopback; bool mapped; };
    const row rows[] = {
        {"127.0.0.1", true, false},   {"127.255.0.9", true, false}, {"128.0.0.1", false, false},
        {"::1", true, false},         {"::2", false, false},        {"::ffff:127.0.0.1", true, true},
        {"::ffff:192.0.2.1", false, true}, {"2001:db8::1", false, false},
    };
    for (const auto& r : rows) {
        INFO(r.addr);
        const auto a = parse_address(r.addr);
        REQUIRE(a);
        CHECK(a->is_loopback() == r.loopback);
        CHECK(a->is_v4_mapped() == r.mapped);
    }
    CHECK(to_string(parse_address("::ffff:192.0.2.1")->unmapped()) == "192.0.2.1");
}

TEST_CASE("prefix containment", "[address]") {
    const auto p = *parse_prefix("198.51.100.128/25");
    CHECK(p.contains(*parse_address("198.51.100.200")));
    CHECK_FALSE(p.contains(*parse_address("198.51.100.127")));
    CHECK_FALSE(p.contains(*parse_address("2001:db8::1")));
    const auto q = *parse_prefix("2001:db8:8000::/33");
    CHECK(q.contains(*parse_address("2001:db8:8000::5")));
    CHECK_FALSE(q.contains(*parse_address("2001:db8:7fff::5")));
}
