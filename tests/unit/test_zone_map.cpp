#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "pbxgate/zone_map.hpp"
#include "address_helpers.hpp"
#include "test_helpers.hpp"

using namespace pbxgate;
using pbxgate::test::addr;
using pbxgate::test::pfx;
using pbxgate::test::masked;
using pbxgate::test::v6;

namespace {

// Address arithmetic on the byte form: +1 / -1 with wrap-around inside the family.
ip_address step(ip_address a, int delta) {
    const int width = a.family == ip_family::v4 ? 4 : 16;
    for (int i = width - 1; i >= 0; --i) {
        const auto idx = static_cast<std::size_t>(i);
        if (delta > 0) {
            if (++a.bytes[idx] != 0) break;
        } else {
            if (a.bytes[idx]-- != 0) break;
        }
    }
    return a;
}

ip_address last_of(const ip_prefix& p) {
    ip_address a = p.address;
    const unsigned width = a.family == ip_family::v4 ? 32 : 128;
    for (unsigned bit = p.length; bit < width; ++bit) a.bytes[bit / 8] |= static_cast<std::uint8_t>(0x80u >> (bit % 8));
    return a;
}

// The reference: the highest-precedence zone of any prefix covering the (unmapped) address.
zone brute_force(const std::vector<zoned_prefix>& ps, const ip_address& raw) {
    const ip_address a = raw.unmapped();
    zone best = zone::internet;
    for (const auto& zp : ps)
        if (zp.prefix.contains(a) && static_cast<unsigned>(zp.z) > static_cast<unsigned>(best)) best = zp.z;
    return best;
}

// Forces the top `len` bits of `a` to those of `region`.
ip_address inside(ip_address a, const ip_prefix& region) {
    for (unsigned bit = 0; bit < region.length; ++bit) {
        const auto m = static_cast<std::uint8_t>(0x80u >> (bit % 8));
        a.bytes[bit / 8] = static_cast<std::uint8_t>((a.bytes[bit / 8] & ~m) | (region.address.bytes[bit / 8] & m));
    }
    return a;
}

// Random prefixes of mixed zones and lengths, with edge lengths, nested and adjacent ones;
// all inside `region` when it is not /0 (the map then skips the common leading bits).
std::vector<zoned_prefix> random_prefixes(std::mt19937_64& rng, std::size_t count, ip_family family,
                                          const ip_prefix& region) {
    const unsigned width = family == ip_family::v4 ? 32 : 128;
    const zone zones[] = {zone::lan, zone::trusted, zone::blocked};
    std::vector<zoned_prefix> out;
    auto random_address = [&] {
        if (family == ip_family::v4) return inside(ip_address::v4(static_cast<std::uint32_t>(rng())), region);
        // Half the IPv6 addresses share a top /16 so buckets get crowded.
        const std::uint64_t hi = rng() % 2 ? (rng() & 0x0000'ffff'ffff'ffffull) | 0x2001'0000'0000'0000ull : rng();
        return inside(v6(hi, rng()), region);
    };
    while (out.size() < count) {
        const zone z = zones[rng() % 3];
        const auto kind = rng() % 10;
        unsigned len = 0;
        if (kind < 2 && !out.empty()) {  // nested in, or adjacent to, an earlier prefix
            const auto& base = out[rng() % out.size()].prefix;
            if (base.address.family != family) continue;
            if (kind == 0 && base.length < width) {
                len = base.length + 1 + static_cast<unsigned>(rng() % (width - base.length));
                ip_address a = random_address();
                for (unsigned bit = 0; bit < base.length; ++bit) {  // keep base's bits
                    const auto m = static_cast<std::uint8_t>(0x80u >> (bit % 8));
                    a.bytes[bit / 8] = static_cast<std::uint8_t>((a.bytes[bit / 8] & ~m) | (base.address.bytes[bit / 8] & m));
                }
                out.push_back({{masked(a, len), static_cast<std::uint8_t>(len)}, z});
            } else if (base.length > 0) {  // the sibling: adjacent, same length
                ip_address a = base.address;
                const unsigned bit = base.length - 1u;
                a.bytes[bit / 8] ^= static_cast<std::uint8_t>(0x80u >> (bit % 8));
                out.push_back({{a, base.length}, z});
            }
            continue;
        }
        const unsigned edge[] = {0, 1, width - 1, width, width, width - 8, width / 2};
        len = kind == 2 ? edge[rng() % 7] : static_cast<unsigned>(rng() % (width + 1));
        if (len == 0 && rng() % 8 != 0) len = 8;  // a few /0 only, or everything is one zone
        len = std::max<unsigned>(len, region.length);
        out.push_back({{masked(random_address(), len), static_cast<std::uint8_t>(len)}, z});
    }
    return out;
}

void check_against_reference(const std::vector<zoned_prefix>& ps, std::mt19937_64& rng, const std::string& what,
                             const ip_prefix& region4, const ip_prefix& region6) {
    const zone_map m = zone_map::build(ps);
    std::vector<ip_address> probes;
    for (const auto& zp : ps) {
        const ip_address first = zp.prefix.address, last = last_of(zp.prefix);
        probes.insert(probes.end(), {step(first, -1), first, step(first, 1), step(last, -1), last, step(last, 1)});
    }
    for (int i = 0; i < 3000; ++i) {
        probes.push_back(ip_address::v4(static_cast<std::uint32_t>(rng())));
        probes.push_back(v6(rng(), rng()));
        probes.push_back(v6(0x2001'0000'0000'0000ull | (rng() & 0xffff'ffff'ffffull), rng()));
        probes.push_back(inside(ip_address::v4(static_cast<std::uint32_t>(rng())), region4));
        probes.push_back(inside(v6(rng(), rng()), region6));
    }
    probes.push_back(ip_address::v4(0));
    probes.push_back(ip_address::v4(0xffff'ffffu));
    probes.push_back(v6(0, 0));
    probes.push_back(v6(~0ull, ~0ull));
    std::size_t mismatches = 0;
    for (const auto& a : probes) {
        const zone expected = brute_force(ps, a);
        const zone got = m.lookup(a);
        if (got != expected && ++mismatches <= 5) {
            INFO(what << " address " << to_string(a));
            CHECK(to_string(got) == to_string(expected));
        }
        if (a.family == ip_family::v4) {  // the mapped form must not dodge the IPv4 map
            std::uint8_t b[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a.bytes[0], a.bytes[1], a.bytes[2], a.bytes[3]};
            const zone mapped = m.lookup(ip_address::v6(b));
            if (mapped != expected && ++mismatches <= 5) {
                INFO(what << " mapped address ::ffff:" << to_string(a));
                CHECK(to_string(mapped) == to_string(expected));
            }
            CHECK(m.lookup_v4(a.v4_host()) == got);
        }
    }
    INFO(what);
    CHECK(mismatches == 0);
}

}  // namespace

TEST_CASE("an empty zone map is internet everywhere", "[zone_map]") {
    const zone_map built = zone_map::build({});
    const zone_map defaulted;
    for (const char* a : {"0.0.0.0", "192.0.2.1", "255.255.255.255", "::", "2001:db8::1", "::ffff:10.0.0.1",
                          "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"}) {
        INFO(a);
        CHECK(built.lookup(addr(a)) == zone::internet);
        CHECK(defaulted.lookup(addr(a)) == zone::internet);
    }
    CHECK(built.interval_count_v4() == 0);
    CHECK(built.interval_count_v6() == 0);
    CHECK(built.lookup_v4(0x0a000001u) == zone::internet);
}

TEST_CASE("precedence beats prefix length", "[zone_map]") {
    const std::vector<zoned_prefix> ps{
        {pfx("10.0.0.0/8"), zone::lan},        {pfx("10.1.0.0/16"), zone::trusted},
        {pfx("10.1.2.0/24"), zone::lan},       {pfx("10.1.2.3"), zone::blocked},
        {pfx("2001:db8::/32"), zone::blocked}, {pfx("2001:db8:1::/48"), zone::lan},
        {pfx("2001:db9::/32"), zone::trusted}, {pfx("0.0.0.0/0"), zone::internet},
    };
    const zone_map m = zone_map::build(ps);
    struct row { const char* a; zone z; };
    const row rows[] = {
        {"10.1.2.3", zone::blocked},        {"10.1.2.4", zone::trusted},   {"10.1.2.2", zone::trusted},
        {"10.2.0.0", zone::lan},            {"9.255.255.255", zone::internet}, {"11.0.0.0", zone::internet},
        {"::ffff:10.1.2.3", zone::blocked}, {"::ffff:10.9.9.9", zone::lan},  {"2001:db8:1::5", zone::blocked},
        {"2001:db9:ffff::", zone::trusted}, {"2001:dba::", zone::internet},  {"2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", zone::internet},
    };
    for (const auto& r : rows) {
        INFO(r.a);
        CHECK(to_string(m.lookup(addr(r.a))) == to_string(r.z));
    }
    CHECK(m.interval_count_v4() == 5);  // lan | trusted | blocked | trusted | lan
    CHECK(m.interval_count_v6() == 2);  // blocked 2001:db8::/32, trusted 2001:db9::/32
}

TEST_CASE("zone_map matches a brute-force reference on random prefixes", "[zone_map]") {
    struct row { std::uint64_t seed; std::size_t v4; std::size_t v6; const char* region4; const char* region6; };
    // Sizes from an 8-bit index (small maps) to an 11-bit one; regions make the map skip
    // common leading bits (up to the whole width but the index: /24 of IPv4, /120 of IPv6).
    const row rows[] = {
        {1, 1, 1, "0.0.0.0/0", "::/0"},          {2, 10, 10, "0.0.0.0/0", "::/0"},
        {3, 100, 0, "0.0.0.0/0", "::/0"},        {4, 0, 100, "0.0.0.0/0", "::/0"},
        {5, 400, 400, "0.0.0.0/0", "::/0"},      {6, 2500, 0, "0.0.0.0/0", "::/0"},
        {7, 0, 2500, "0.0.0.0/0", "::/0"},       {8, 300, 300, "10.0.0.0/8", "2001:db8::/32"},
        {9, 2000, 2000, "172.16.0.0/12", "2000::/3"}, {10, 50, 50, "192.0.2.0/24", "2001:db8::/120"},
        {11, 20, 20, "192.0.2.128/26", "2001:db8::/100"},
    };
    for (const auto& r : rows) {
        std::mt19937_64 rng(r.seed);
        const ip_prefix region4 = pfx(r.region4), region6 = pfx(r.region6);
        auto ps = random_prefixes(rng, r.v4, ip_family::v4, region4);
        const auto p6 = random_prefixes(rng, r.v6, ip_family::v6, region6);
        ps.insert(ps.end(), p6.begin(), p6.end());
        check_against_reference(ps, rng, "seed " + std::to_string(r.seed), region4, region6);
    }
}

TEST_CASE("small maps stay small; large maps build", "[zone_map]") {
    const std::vector<zoned_prefix> ps{{pfx("192.0.2.0/24"), zone::lan}, {pfx("2001:db8:1::/48"), zone::lan},
                                       {pfx("198.51.100.10"), zone::trusted}, {pfx("203.0.113.0/24"), zone::blocked}};
    CHECK(zone_map::build(ps).memory_bytes() < 8 * 1024);

    std::mt19937_64 rng(42);
    std::vector<zoned_prefix> many;
    for (int i = 0; i < 100000; ++i)
        many.push_back({{ip_address::v4(static_cast<std::uint32_t>(rng()) & 0xffff'ff00u), 24}, zone::blocked});
    const zone_map big = zone_map::build(many);
    CHECK(big.interval_count_v4() > 90000);
    for (int i = 0; i < 1000; ++i) {
        const auto& p = many[rng() % many.size()].prefix;
        INFO(to_string(p));
        CHECK(big.lookup(p.address) == zone::blocked);
        CHECK(big.lookup(last_of(p)) == zone::blocked);
    }
}

TEST_CASE("zone_map refuses zones that are not given by address", "[zone_map]") {
    const std::vector<zoned_prefix> ps{{pfx("127.0.0.0/8"), zone::localhost}};
    CHECK_THROWS_AS(zone_map::build(ps), std::invalid_argument);
}
