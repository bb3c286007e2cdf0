// zone_map lookup cost against blocklist size, IPv4 and IPv6.
//
//   bench_zone_map           the full table (10 .. 1M prefixes, 7 repetitions)
//   bench_zone_map --smoke   tiny sizes, one repetition: proves the benchmark still runs
//   bench_zone_map --size N  one size only (A/B comparisons on a busy machine)
//
// A last table times compiled_policy::classify (no parsing) on synthetic packet views.
//
// Times are this thread's CPU time. Lookups are independent (like packets in a batch),
// so the figures are throughput per lookup, not the latency of one isolated lookup.
// Addresses: "random" is half addresses inside the blocked prefixes and half uniform
// (IPv6: uniform in 2000::/3); "hot" cycles over 1,024 of them, like the RTP peers of a
// busy PBX.
#include <algorithm>
#include <ctime>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "pbxgate/compiled_policy.hpp"
#include "pbxgate/zone_map.hpp"
#include "address_helpers.hpp"
#include "util/thread_clock.hpp"

using namespace pbxgate;
using pbxgate::test::masked;
using pbxgate::test::v6;

namespace {



// Blocklist-like lengths: IPv4 mostly /24 and /32, IPv6 mostly /48 to /64.
unsigned random_length(std::mt19937_64& rng, ip_family f) {
    const auto r = rng() % 100;
    if (f == ip_family::v4) {
        if (r < 40) return 32;
        if (r < 75) return 24;
        if (r < 95) return 25 + static_cast<unsigned>(rng() % 7);
        return 16 + static_cast<unsigned>(rng() % 8);
    }
    if (r < 40) return 64;
    if (r < 70) return 48;
    if (r < 85) return 56;
    if (r < 95) return 32 + static_cast<unsigned>(rng() % 16);
    return 128;
}

ip_address random_address(std::mt19937_64& rng, ip_family f) {
    if (f == ip_family::v4) return ip_address::v4(static_cast<std::uint32_t>(rng()));
    return v6((rng() & 0x1fff'ffff'ffff'ffffull) | 0x2000'0000'0000'0000ull, rng());  // 2000::/3
}

// This thread's CPU time: the machine is shared, and time spent descheduled is not the

struct stats {
    double median, min, max;
};

stats summarize(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return {v[v.size() / 2], v.front(), v.back()};
}

std::uint64_t checksum = 0;  // printed at the end so no lookup can be optimised away

stats time_lookups(const zone_map& m, const std::vector<ip_address>& addrs, std::size_t lookups, int reps) {
    std::vector<double> ns;
    for (int r = 0; r < reps; ++r) {
        std::uint64_t sum = 0;
        const std::size_t mask = addrs.size() - 1;  // a power of two
        const double t0 = thread_cpu_ns();
        for (std::size_t i = 0; i < lookups; ++i) sum += static_cast<unsigned>(m.lookup(addrs[i & mask]));
        const double elapsed = thread_cpu_ns() - t0;
        checksum += sum;
        ns.push_back(elapsed / static_cast<double>(lookups));
    }
    return summarize(ns);
}

// classify() alone (no parsing) on synthetic packet views of an RTP-heavy PBX: 90% RTP
// from internet peers, 5% SIP, the rest SSH from the lan, pings and unknown ports.
stats time_classify(std::size_t blocked_prefixes, std::size_t lookups, int reps) {
    std::mt19937_64 rng(7);
    policy p;
    auto add = [&](const char* name, proto_mask proto, port_range r, zone_set allow) {
        service_def s;
        s.name = name;
        s.proto = proto;
        s.ports = {r};
        s.allow = allow;
        p.services.push_back(s);
    };
    add("sip", proto_mask::udp, {5060, 5060}, all_allowable_zones);
    add("ssh", proto_mask::tcp, {22, 22}, zone_bit(zone::lan) | zone_bit(zone::localhost));
    add("rtp", proto_mask::udp, {10000, 20000}, all_allowable_zones);
    p.zones.lan = {{ip_address::v4(0xc0000200u), 24}};
    for (std::size_t i = 0; i < blocked_prefixes; ++i)
        p.zones.blocked.push_back({ip_address::v4(static_cast<std::uint32_t>(rng()) & 0xffff'ff00u), 24});
    const auto c = compiled_policy::compile(p);

    std::vector<packet_view> pkts(4096);
    for (auto& v : pkts) {
        const auto r = rng() % 100;
        v.family = ip_family::v4;
        v.src = ip_address::v4(static_cast<std::uint32_t>(rng()));
        v.dst = ip_address::v4(0xc0000201u);
        v.protocol = 17;
        v.has_ports = true;
        v.sport = static_cast<std::uint16_t>(10000 + rng() % 10000);
        v.dport = static_cast<std::uint16_t>(10000 + rng() % 10001);
        if (r >= 90 && r < 95) v.dport = 5060;
        if (r >= 95 && r < 97) {
            v.protocol = 6;
            v.dport = 22;
            v.src = ip_address::v4(0xc0000200u | (rng() & 0xffu));
        }
        if (r >= 97 && r < 99) {
            v.protocol = 1;
            v.has_ports = false;
            v.dport = 0;
            v.has_icmp = true;
            v.icmp_type = 8;
        }
        if (r == 99) v.dport = static_cast<std::uint16_t>(rng());
    }
    const packet_meta meta;
    std::vector<double> ns;
    for (int rep = 0; rep < reps; ++rep) {
        std::uint64_t sum = 0;
        const double t0 = thread_cpu_ns();
        for (std::size_t i = 0; i < lookups; ++i) {
            const decision d = c->classify(pkts[i & (pkts.size() - 1)], meta);
            sum += static_cast<unsigned>(d.action) + static_cast<unsigned>(d.why) + d.service;
        }
        ns.push_back((thread_cpu_ns() - t0) / static_cast<double>(lookups));
        checksum += sum;
    }
    return summarize(ns);
}

}  // namespace

int main(int argc, char** argv) {
    const bool smoke = argc > 1 && std::strcmp(argv[1], "--smoke") == 0;
    std::vector<std::size_t> sizes =
        smoke ? std::vector<std::size_t>{10, 1000} : std::vector<std::size_t>{10, 1000, 10000, 100000, 1000000};
    if (argc > 2 && std::strcmp(argv[1], "--size") == 0) {
        const long n = std::atol(argv[2]);
        if (n <= 0) {
            std::fprintf(stderr, "--size wants a positive number of prefixes, not '%s'\n", argv[2]);
            return 2;
        }
        sizes = {static_cast<std::size_t>(n)};
    }
    const int reps = smoke ? 1 : 7;
    const std::size_t lookups = smoke ? 20000 : 2'000'000;
    const std::size_t address_pool = smoke ? 4096 : 1u << 20;

    std::printf("zone_map lookup, ns per lookup (median [min-max] of %d runs, %zu lookups each)\n", reps, lookups);
    std::printf("%-4s %9s %10s %9s %10s  %-24s %-24s\n", "fam", "prefixes", "intervals", "build_ms", "memory_KB",
                "random ns", "hot-1024 ns");
    for (const ip_family f : {ip_family::v4, ip_family::v6}) {
        for (const std::size_t n : sizes) {
            std::mt19937_64 rng(0x5eed + n);
            std::vector<zoned_prefix> ps;
            ps.reserve(n);
            for (std::size_t i = 0; i < n; ++i) {
                const unsigned len = random_length(rng, f);
                ps.push_back({{masked(random_address(rng, f), len), static_cast<std::uint8_t>(len)}, zone::blocked});
            }
            const double t0 = thread_cpu_ns();
            const zone_map m = zone_map::build(ps);
            const double build_ms = (thread_cpu_ns() - t0) / 1e6;

            std::vector<ip_address> addrs(address_pool);
            for (std::size_t i = 0; i < addrs.size(); ++i) {
                if (i % 2 == 0) {
                    addrs[i] = random_address(rng, f);
                } else {  // inside a blocked prefix: random host bits under a random prefix
                    const auto& p = ps[rng() % ps.size()].prefix;
                    ip_address a = random_address(rng, f);
                    for (unsigned bit = 0; bit < p.length; ++bit) {
                        const auto mk = static_cast<std::uint8_t>(0x80u >> (bit % 8));
                        a.bytes[bit / 8] =
                            static_cast<std::uint8_t>((a.bytes[bit / 8] & ~mk) | (p.address.bytes[bit / 8] & mk));
                    }
                    addrs[i] = a;
                }
            }
            std::shuffle(addrs.begin(), addrs.end(), rng);
            const std::vector<ip_address> hot(addrs.begin(), addrs.begin() + 1024);

            const stats cold = time_lookups(m, addrs, lookups, reps);
            const stats warm = time_lookups(m, hot, lookups, reps);
            char cold_s[64], warm_s[64];
            std::snprintf(cold_s, sizeof cold_s, "%6.1f [%5.1f-%6.1f]", cold.median, cold.min, cold.max);
            std::snprintf(warm_s, sizeof warm_s, "%6.1f [%5.1f-%6.1f]", warm.median, warm.min, warm.max);
            const std::size_t intervals = f == ip_family::v4 ? m.interval_count_v4() : m.interval_count_v6();
            std::printf("%-4s %9zu %10zu %9.2f %10.1f  %-24s %-24s\n", f == ip_family::v4 ? "v4" : "v6", n, intervals,
                        build_ms, static_cast<double>(m.memory_bytes()) / 1024.0, cold_s, warm_s);
        }
    }
    std::printf("\nclassify (no parsing), 4,096 RTP-heavy IPv4 packet views, ns per packet\n");
    for (const std::size_t blocked : {std::size_t{10}, smoke ? std::size_t{1000} : std::size_t{100000}}) {
        const stats st = time_classify(blocked, lookups, reps);
        std::printf("blocked /24s %7zu: %6.1f [%5.1f-%6.1f]\n", blocked, st.median, st.min, st.max);
    }
    std::printf("checksum %llu\n", static_cast<unsigned long long>(checksum));
    return 0;
}
