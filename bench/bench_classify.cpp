// The packet path, piece by piece, on captures: parse, port lookup, full classify (parse +
// compiled policy), and the same policy as a first-match linear rule list (what a plain
// iptables chain does), all in one run so the table shows what the compiled tables buy.
//
//   bench_classify [--policy P] [--blocked N]... CAPTURE...   (default: the testbed policy)
//   bench_classify --smoke                                    tiny run, proves it still works
//
// Times are this thread's CPU time per packet: median [min-max] of the repetitions, each
// cycling through the capture (packets preloaded back to back, as in `pbxgate replay`).
// --blocked N adds N random /24s to the blocked zone (a blocklist), which costs the
// compiled policy one zone-map search and the linear chain N more rules.
// The linear list is checked against classify(): it must give the same verdict for every
// packet, or the comparison would be meaningless (the run says how many differ).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include "pbxgate/capture.hpp"
#include "pbxgate/compiled_policy.hpp"
#include "pbxgate/policy.hpp"
#include "pbxgate/replay.hpp"
#include "util/byte_order.hpp"
#include "util/thread_clock.hpp"

using namespace pbxgate;

namespace {


struct stats {
    double median, min, max;
};

template <class F>
stats repeat(int reps, F&& pass) {
    std::vector<double> v;
    for (int r = 0; r < reps; ++r) v.push_back(pass());
    std::sort(v.begin(), v.end());
    return {v[v.size() / 2], v.front(), v.back()};
}

std::uint64_t sink = 0;  // printed at the end: no loop can be optimised away

// One rule of a first-match chain: -s PREFIX -p PROTO --dport LO:HI [--icmp-type T] -j V.
struct rule {
    ip_family family = ip_family::v4;
    bool any_source = true;
    bool loopback_source = false;     // -i lo / -s 127.0.0.0/8 / ::1
    bool later_fragment = false;      // -f: fragments after the first
    std::uint64_t hi = 0, lo = 0;     // the prefix, masked (v4: in lo's low 32 bits)
    std::uint64_t mask_hi = 0, mask_lo = 0;
    std::uint8_t proto = 0;           // 0 = any
    std::uint16_t port_lo = 0, port_hi = 65535;
    int icmp_type = -1;               // -1 = any
    verdict action = verdict::drop;
};

void key_of(const ip_address& a, std::uint64_t& hi, std::uint64_t& lo) {
    if (a.family == ip_family::v4) {
        hi = 0;
        lo = a.v4_host();
    } else {
        hi = load_be64(a.bytes.data());
        lo = load_be64(a.bytes.data() + 8);
    }
}

rule from_prefix(const ip_prefix& p) {
    rule r;
    r.family = p.address.family;
    r.any_source = false;
    key_of(p.address, r.hi, r.lo);
    if (r.family == ip_family::v4) {
        r.mask_lo = p.length == 0 ? 0 : (0xffff'ffffull << (32 - p.length)) & 0xffff'ffffull;
    } else {
        const unsigned l = p.length;
        r.mask_hi = l == 0 ? 0 : l >= 64 ? ~0ull : ~0ull << (64 - l);
        r.mask_lo = l <= 64 ? 0 : l == 128 ? ~0ull : ~0ull << (128 - l);
    }
    return r;
}

// The policy written out as a chain, in the order an admin would: blocklist first, the
// stack's ICMP, then per service and port range the zones it admits, default last.
std::vector<rule> linear_chain(const policy& p) {
    std::vector<rule> chain;
    for (const auto& b : p.zones.blocked) {
        rule r = from_prefix(b);
        r.action = verdict::drop;
        chain.push_back(r);
    }
    for (const ip_family f : {ip_family::v4, ip_family::v6}) {
        rule frag;
        frag.family = f;
        frag.later_fragment = true;
        frag.action = p.engine.non_first_fragment;
        chain.push_back(frag);
    }
    for (const ip_family f : {ip_family::v4, ip_family::v6}) {
        const std::vector<int> needed = f == ip_family::v4 ? std::vector<int>{0, 3, 11, 12}
                                                           : std::vector<int>{1, 2, 3, 4, 128, 129, 130, 131, 132, 133,
                                                                              134, 135, 136, 141, 142, 143, 148, 149,
                                                                              151, 152, 153};
        for (const int t : needed) {
            rule r;
            r.family = f;
            r.proto = f == ip_family::v4 ? 1 : 58;
            r.icmp_type = t;
            r.action = verdict::accept;
            chain.push_back(r);
        }
        if (f == ip_family::v4) {
            rule r;
            r.family = f;
            r.proto = 1;
            r.icmp_type = 8;
            r.action = verdict::accept;
            chain.push_back(r);
        }
    }
    for (const auto& s : p.services) {
        if (!s.enabled) continue;
        for (const std::uint8_t proto : {std::uint8_t{6}, std::uint8_t{17}}) {
            if (!(static_cast<unsigned>(s.proto) & (proto == 6 ? 1u : 2u))) continue;
            for (const auto& range : s.ports) {
                auto add = [&](rule r, verdict v) {
                    r.proto = proto;
                    r.port_lo = range.first;
                    r.port_hi = range.last;
                    r.action = v;
                    chain.push_back(r);
                };
                const bool inet = s.allow & zone_bit(zone::internet);
                for (const ip_family f : {ip_family::v4, ip_family::v6}) {
                    rule lo;
                    lo.family = f;
                    lo.loopback_source = true;
                    add(lo, s.allow & zone_bit(zone::localhost) ? verdict::accept : verdict::drop);
                }
                // Trusted before lan: an address in both is trusted.
                for (const auto& [z, list] : {std::pair{zone::trusted, &p.zones.trusted}, std::pair{zone::lan, &p.zones.lan}}) {
                    const bool ok = s.allow & zone_bit(z);
                    if (ok == inet && inet) continue;  // the catch-all below says the same
                    for (const auto& pre : *list) add(from_prefix(pre), ok ? verdict::accept : verdict::drop);
                }
                for (const ip_family f : {ip_family::v4, ip_family::v6}) {
                    rule any;
                    any.family = f;
                    add(any, inet ? verdict::accept : verdict::drop);
                }
            }
        }
    }
    // Ports no service claims: localhost passes (engine.localhost_default), the rest drops.
    for (const ip_family f : {ip_family::v4, ip_family::v6}) {
        rule lo;
        lo.family = f;
        lo.loopback_source = true;
        lo.action = p.engine.localhost_default;
        chain.push_back(lo);
    }
    return chain;
}

verdict first_match(const std::vector<rule>& chain, const packet_view& v) noexcept {
    if (!v.ok()) return verdict::drop;
    std::uint64_t hi, lo;
    key_of(v.src, hi, lo);
    const bool loop = v.src.is_loopback();
    for (const rule& r : chain) {
        if (r.family != v.family) continue;
        if (r.loopback_source && !loop) continue;
        if (r.later_fragment && !(v.is_fragment && !v.is_first_fragment)) continue;
        if (!r.any_source && !r.loopback_source && ((hi & r.mask_hi) != r.hi || (lo & r.mask_lo) != r.lo)) continue;
        if (r.proto != 0) {
            if (r.proto != v.protocol) continue;
            if (r.icmp_type >= 0 && (!v.has_icmp || v.icmp_type != r.icmp_type)) continue;
            if ((r.proto == 6 || r.proto == 17) && (!v.has_ports || v.dport < r.port_lo || v.dport > r.port_hi)) continue;
        }
        return r.action;
    }
    return verdict::drop;  // the chain's policy
}

struct capture_set {
    std::string name;
    packet_arena arena;
    std::vector<packet_view> views;  // parsed once, for the steps that skip parsing
};

void run(const std::string& label, const policy& pol, const capture_set& cs, int reps, std::uint64_t per_pass) {
    const auto cp = compiled_policy::compile(pol);
    const auto chain = linear_chain(pol);
    const auto entries = cs.arena.entries();
    const std::uint64_t full_rounds = std::max<std::uint64_t>(1, per_pass / entries.size());
    const packet_meta meta{};

    std::size_t differ = 0;
    for (const auto& v : cs.views)
        if (cp->classify(v, meta).action != first_match(chain, v)) ++differ;

    // The linear chain costs ~rules x a compare: fewer rounds keep the run short.
    auto loop = [&](auto&& body, std::uint64_t divide = 1) {
        const std::uint64_t rounds = std::max<std::uint64_t>(1, full_rounds / divide);
        const double n = static_cast<double>(rounds * entries.size());
        return repeat(reps, [&] {
            std::uint64_t s = 0;
            const double t0 = thread_cpu_ns();
            for (std::uint64_t r = 0; r < rounds; ++r)
                for (std::size_t i = 0; i < entries.size(); ++i) s += body(i);
            const double ns = (thread_cpu_ns() - t0) / n;
            sink += s;
            return ns;
        });
    };
    auto parse = [&](std::size_t i) -> unsigned {
        packet_view v;
        const auto& e = entries[i];
        parse_ip_packet(cs.arena.data() + e.offset, e.captured, e.wire_len, v);
        return v.dport + static_cast<unsigned>(v.error);
    };
    const stats st_parse = loop(parse);
    const stats st_port = loop([&](std::size_t i) -> unsigned {
        return cp->service_for(cs.views[i].protocol, cs.views[i].dport);
    });
    const stats st_full = loop([&](std::size_t i) -> unsigned {
        packet_view v;
        const auto& e = entries[i];
        parse_ip_packet(cs.arena.data() + e.offset, e.captured, e.wire_len, v);
        const decision d = cp->classify(v, meta);
        return static_cast<unsigned>(d.action) + d.service;
    });
    const stats st_linear = loop([&](std::size_t i) -> unsigned {
        packet_view v;
        const auto& e = entries[i];
        parse_ip_packet(cs.arena.data() + e.offset, e.captured, e.wire_len, v);
        return static_cast<unsigned>(first_match(chain, v));
    }, std::max<std::size_t>(1, chain.size() / 50));
    auto f = [](const stats& s) {
        char b[48];
        std::snprintf(b, sizeof b, "%6.1f [%5.1f-%6.1f]", s.median, s.min, s.max);
        return std::string(b);
    };
    std::printf("%-34s %8zu %7s %6zu | %-22s %-22s %-22s %-22s %5.1fx %6zu\n", cs.name.c_str(), entries.size(),
                label.c_str(), chain.size(), f(st_parse).c_str(), f(st_port).c_str(), f(st_full).c_str(),
                f(st_linear).c_str(), st_linear.median / st_full.median, differ);
}

}  // namespace

int main(int argc, char** argv) {
    bool smoke = false;
    std::string policy_path = std::string(PBXGATE_SOURCE_DIR) + "/tests/data/policies/testbed.toml";
    std::vector<std::string> captures;
    std::vector<std::size_t> blocked_sizes;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--smoke") smoke = true;
        else if (a == "--policy" && i + 1 < argc) policy_path = argv[++i];
        else if (a == "--blocked" && i + 1 < argc) blocked_sizes.push_back(std::strtoull(argv[++i], nullptr, 10));
        else if (!a.empty() && a[0] == '-') {
            std::fprintf(stderr, "bench_classify: unknown option '%s'\n", a.c_str());
            return 2;
        } else captures.push_back(a);
    }
    if (captures.empty()) {  // the real RTP captures, when the shared folder is there
        for (const char* c : {"heplify_rtp_rtcp_sip_ipv4_udp.pcap", "asterisk_A_party_g711a.pcap"})
            captures.push_back(std::string(PBXGATE_SHARED_DIR) + "/pcaps/" + c);
        if (smoke) captures.resize(1);
    }
    if (blocked_sizes.empty()) blocked_sizes = smoke ? std::vector<std::size_t>{0} : std::vector<std::size_t>{0, 100, 1000};

    const auto loaded = load_policy(policy_path);
    if (!loaded.ok()) {
        for (const auto& e : loaded.errors) std::fprintf(stderr, "%s\n", e.to_string().c_str());
        return 1;
    }
    const int reps = smoke ? 1 : 7;
    const std::uint64_t per_pass = smoke ? 20'000 : 2'000'000;

    std::printf("ns per packet, this thread's CPU time, median [min-max] of %d passes of >= %llu packets\n", reps,
                static_cast<unsigned long long>(per_pass));
    std::printf("%-34s %8s %7s %6s | %-22s %-22s %-22s %-22s %6s %6s\n", "capture", "packets", "blocked", "rules",
                "parse", "port lookup", "full classify", "linear chain", "lin/cl", "differ");
    for (const auto& path : captures) {
        capture_set cs;
        cs.name = path.substr(path.find_last_of('/') + 1);
        try {
            const capture_contents c = read_capture(path);
            for (const auto& p : c.packets) cs.arena.add(p);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "bench_classify: skipping %s\n", e.what());
            continue;
        }
        if (cs.arena.size() == 0) continue;
        for (const auto& e : cs.arena.entries()) {
            packet_view v;
            parse_ip_packet(cs.arena.data() + e.offset, e.captured, e.wire_len, v);
            cs.views.push_back(v);
        }
        for (const std::size_t blocked : blocked_sizes) {
            policy pol = *loaded.value;
            std::mt19937_64 rng(42 + blocked);
            for (std::size_t i = 0; i < blocked; ++i) {
                // Random /24s outside the documentation ranges the captures use.
                const auto a = static_cast<std::uint32_t>(0x0b000000u + (rng() % 0x50000000u)) & 0xffff'ff00u;
                pol.zones.blocked.push_back({ip_address::v4(a), 24});
            }
            run(std::to_string(blocked), pol, cs, reps, per_pass);
        }
    }
    std::printf("checksum %llu\n", static_cast<unsigned long long>(sink));
    return 0;
}
