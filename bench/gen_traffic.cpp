// gen_traffic: a seeded, reproducible capture of what reaches a busy PBX (its ingress):
//   gen_traffic --calls N --seconds S --seed X --out FILE.pcap [--mix full|calls|flood] [--sources N]
//
// Every call is bridged by the PBX, so it brings two inbound G.711 streams (50 packets/s
// each, 20 ms of audio = 172-byte RTP packets): the trunk leg from the provider (trusted)
// or a remote extension (internet, one call in four over IPv6, each in its own /64), and the phone leg from a
// LAN phone; each stream sends RTCP every 5 s. SIP: INVITE/ACK/BYE per call, phones
// REGISTER every 60 s, trunks send OPTIONS keepalives every 30 s.
// --mix full (the default) adds internet noise: SYN scans and UDP probes of closed ports,
// SIP scanners (OPTIONS from sipvicious-like sources), pings, a blocked source, and LAN
// admin traffic (SSH, HTTPS). --mix calls keeps only the calls, which the shipped policy
// accepts in full: the end-to-end benchmark counts every packet as deliverable.
// --mix flood: a spoofed-source REGISTER flood from --sources distinct IPv6 /64s (default
// 100,000: 2001:db8::/32 is the only documentation range that holds that many sources)
// while LAN phones and remote extensions keep registering over IPv4.
//
// Addresses come only from documentation ranges and match scripts/lib/testbed.sh: the PBX
// is 192.0.2.1 / 198.51.100.1 / 203.0.113.1 / 2001:db8:{1,2,3}::1. Link type Ethernet.
#include <pcap/pcap.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

using bytes = std::vector<std::uint8_t>;

struct address {
    bool v6 = false;
    std::array<std::uint8_t, 16> b{};
};

address v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
    address x;
    x.b[0] = a, x.b[1] = b, x.b[2] = c, x.b[3] = d;
    return x;
}

// 2001:db8:NET:SUBNET::HOST (NET up to 0xffff: the flood's sources use /48s beyond the
// testbed's 1..3)
address v6(std::uint16_t net, std::uint16_t host, std::uint16_t subnet = 0) {
    address x;
    x.v6 = true;
    const std::uint8_t pre[8] = {0x20, 0x01, 0x0d, 0xb8, static_cast<std::uint8_t>(net >> 8), static_cast<std::uint8_t>(net),
                                 static_cast<std::uint8_t>(subnet >> 8), static_cast<std::uint8_t>(subnet)};
    std::memcpy(x.b.data(), pre, sizeof pre);
    x.b[14] = static_cast<std::uint8_t>(host >> 8);
    x.b[15] = static_cast<std::uint8_t>(host);
    return x;
}

const address pbx_lan = v4(192, 0, 2, 1), pbx_trusted = v4(198, 51, 100, 1), pbx_inet = v4(203, 0, 113, 1);
const address pbx_inet6 = v6(3, 1);

// Internet hosts avoid the testbed's own .1 (PBX), .10 (client) and .200 (blocked).
std::uint8_t inet_host(std::mt19937_64& rng) {
    for (;;) {
        const auto h = static_cast<std::uint8_t>(2 + rng() % 253);
        if (h != 10 && h != 200) return h;
    }
}

struct packet {
    std::uint64_t t_us;
    std::uint64_t seq;  // creation order: ties in time keep a stable order
    bytes frame;
};

void put16(bytes& b, std::size_t at, unsigned v) {
    b[at] = static_cast<std::uint8_t>(v >> 8);
    b[at + 1] = static_cast<std::uint8_t>(v);
}

std::uint32_t sum16(const std::uint8_t* p, std::size_t n, std::uint32_t s = 0) {
    for (std::size_t i = 0; i + 1 < n; i += 2) s += static_cast<std::uint32_t>(p[i] << 8 | p[i + 1]);
    if (n & 1) s += static_cast<std::uint32_t>(p[n - 1] << 8);
    return s;
}

std::uint16_t fold(std::uint32_t s) {
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    return static_cast<std::uint16_t>(~s);
}

// Ethernet + IP header + L4 bytes (whose checksum field is filled here). `csum_at` is the
// checksum's offset inside l4; ICMPv4 has no pseudo-header.
bytes build(const address& src, const address& dst, std::uint8_t proto, bytes l4, std::size_t csum_at) {
    const std::size_t ip_len = src.v6 ? 40 : 20;
    bytes f(14 + ip_len + l4.size());
    const std::uint8_t macs[12] = {0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02};
    std::memcpy(f.data(), macs, sizeof macs);
    put16(f, 12, src.v6 ? 0x86dd : 0x0800);
    std::uint8_t* ip = f.data() + 14;
    std::uint32_t pseudo = 0;
    if (!src.v6) {
        ip[0] = 0x45;
        put16(f, 16, static_cast<unsigned>(20 + l4.size()));
        put16(f, 18, static_cast<unsigned>(f.size() & 0xffff));  // an id that varies
        ip[6] = 0x40;  // DF
        ip[8] = 64;
        ip[9] = proto;
        std::memcpy(ip + 12, src.b.data(), 4);
        std::memcpy(ip + 16, dst.b.data(), 4);
        put16(f, 24, fold(sum16(ip, 20)));
        pseudo = sum16(ip + 12, 8) + proto + static_cast<std::uint32_t>(l4.size());
    } else {
        ip[0] = 0x60;
        put16(f, 18, static_cast<unsigned>(l4.size()));
        ip[6] = proto;
        ip[7] = 64;
        std::memcpy(ip + 8, src.b.data(), 16);
        std::memcpy(ip + 24, dst.b.data(), 16);
        pseudo = sum16(ip + 8, 32) + proto + static_cast<std::uint32_t>(l4.size());
    }
    if (!src.v6 && proto == 1) pseudo = 0;
    std::uint16_t c = fold(sum16(l4.data(), l4.size(), pseudo));
    if (proto == 17 && c == 0) c = 0xffff;  // UDP: 0 means "no checksum"
    put16(l4, csum_at, c);
    std::copy(l4.begin(), l4.end(), f.begin() + static_cast<std::ptrdiff_t>(14 + ip_len));
    return f;
}

bytes udp(const address& s, const address& d, std::uint64_t sport, std::uint64_t dport, const bytes& payload) {
    bytes l4(8 + payload.size());
    put16(l4, 0, static_cast<unsigned>(sport & 0xffff));
    put16(l4, 2, static_cast<unsigned>(dport & 0xffff));
    put16(l4, 4, static_cast<unsigned>(l4.size()));
    std::copy(payload.begin(), payload.end(), l4.begin() + 8);
    return build(s, d, 17, std::move(l4), 6);
}

bytes tcp(const address& s, const address& d, std::uint64_t sport, std::uint64_t dport, std::uint8_t flags,
          std::size_t payload_len) {
    bytes l4(20 + payload_len, 0x61);
    std::fill(l4.begin(), l4.begin() + 20, 0);
    put16(l4, 0, static_cast<unsigned>(sport & 0xffff));
    put16(l4, 2, static_cast<unsigned>(dport & 0xffff));
    put16(l4, 4, 0x1234), put16(l4, 6, 0x5678);
    l4[12] = 5 << 4;
    l4[13] = flags;
    put16(l4, 14, 64240);
    return build(s, d, 6, std::move(l4), 16);
}

bytes icmp_echo(const address& s, const address& d, unsigned id, unsigned seq) {
    bytes l4(8 + 56, 0x42);
    l4[0] = s.v6 ? 128 : 8;
    l4[1] = 0;
    put16(l4, 2, 0);
    put16(l4, 4, id);
    put16(l4, 6, seq);
    return build(s, d, s.v6 ? 58 : 1, std::move(l4), 2);
}

bytes text(const std::string& s) { return bytes(s.begin(), s.end()); }

std::string ip_text(const address& a) {
    char buf[64];
    if (!a.v6) std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", a.b[0], a.b[1], a.b[2], a.b[3]);
    else if ((a.b[6] | a.b[7]) == 0)
        std::snprintf(buf, sizeof buf, "[2001:db8:%x::%x]", a.b[4] << 8 | a.b[5], a.b[14] << 8 | a.b[15]);
    else
        std::snprintf(buf, sizeof buf, "[2001:db8:%x:%x::%x]", a.b[4] << 8 | a.b[5], a.b[6] << 8 | a.b[7],
                      a.b[14] << 8 | a.b[15]);
    return buf;
}

std::string sip(const char* method, const address& from, const address& to, unsigned n) {
    const std::string f = ip_text(from), t = ip_text(to);
    return std::string(method) + " sip:" + t + " SIP/2.0\r\nVia: SIP/2.0/UDP " + f + ":5060;branch=z9hG4bK" +
           std::to_string(n) + "\r\nMax-Forwards: 70\r\nFrom: <sip:" + std::to_string(100 + n % 900) + "@" + f +
           ">;tag=" + std::to_string(n * 7919) + "\r\nTo: <sip:" + t + ">\r\nCall-ID: " + std::to_string(n) +
           "@" + f + "\r\nCSeq: 1 " + method + "\r\nUser-Agent: gen_traffic\r\nContent-Length: 0\r\n\r\n";
}

struct generator {
    std::mt19937_64 rng;
    std::uint64_t seconds_us;
    std::vector<packet> out;

    void emit(std::uint64_t t, bytes f) {
        if (t < seconds_us) out.push_back({t, out.size(), std::move(f)});
    }

    // One G.711 stream from `peer`: RTP every 20 ms (172 bytes of RTP: 12 header + 160
    // audio), RTCP sender reports every 5 s on the next port.
    void stream(const address& peer, const address& pbx, unsigned peer_port, unsigned pbx_port,
                std::uint64_t start, std::uint64_t end) {
        bytes rtp(172, 0xd5);  // 0xd5: A-law silence
        rtp[0] = 0x80;
        rtp[1] = 8;  // PCMA
        const auto ssrc = static_cast<std::uint32_t>(rng());
        std::uint16_t seq = static_cast<std::uint16_t>(rng());
        std::uint32_t ts = static_cast<std::uint32_t>(rng());
        for (std::uint64_t t = start; t < end && t < seconds_us; t += 20000) {
            put16(rtp, 2, seq++);
            put16(rtp, 4, ts >> 16), put16(rtp, 6, ts & 0xffff);
            put16(rtp, 8, ssrc >> 16), put16(rtp, 10, ssrc & 0xffff);
            ts += 160;
            // Jitter of up to 2 ms, as a real network adds.
            emit(t + rng() % 2000, udp(peer, pbx, peer_port, pbx_port, rtp));
            if ((t - start) % 5'000'000 == 0) {
                bytes rtcp(52, 0);
                rtcp[0] = 0x80, rtcp[1] = 200;
                put16(rtcp, 2, 12);
                emit(t + 1000, udp(peer, pbx, peer_port + 1, pbx_port + 1, rtcp));
            }
        }
    }

    void calls(unsigned n) {
        unsigned sip_n = 0;
        for (unsigned c = 0; c < n; ++c) {
            // Calls start over the first 2 s (or the whole run when shorter) and most last
            // the whole capture: a steady-state load of n concurrent calls.
            const std::uint64_t start = rng() % std::min<std::uint64_t>(seconds_us, 2'000'000);
            const std::uint64_t end = start + 60'000'000 + rng() % 240'000'000;
            const bool remote = c % 2 == 1;  // remote extension over the internet, else the trunk
            const bool over_v6 = remote && c % 4 == 3;
            // An IPv6 remote extension sits in its own /64, as every home or office network does:
            // SIP protection keys IPv6 sources by /64, so extensions sharing one /64 would add up
            // to one source's request rate (and get banned together).
            const address trunk = over_v6  ? v6(3, 0x10, static_cast<std::uint16_t>(0x1000 + c))
                                  : remote ? v4(203, 0, 113, inet_host(rng))
                                           : v4(198, 51, 100, static_cast<std::uint8_t>(20 + c % 4));
            const address trunk_pbx = over_v6 ? pbx_inet6 : remote ? pbx_inet : pbx_trusted;
            const address phone = v4(192, 0, 2, static_cast<std::uint8_t>(20 + c % 200));
            const auto port_a = static_cast<unsigned>(10000 + (4 * c) % 10000);
            const auto port_b = port_a + 2;
            emit(start, udp(trunk, trunk_pbx, 5060, 5060, text(sip("INVITE", trunk, trunk_pbx, ++sip_n))));
            emit(start + 40000, udp(phone, pbx_lan, 5060, 5060, text(sip("SIP/2.0 200 OK", phone, pbx_lan, ++sip_n))));
            emit(start + 60000, udp(trunk, trunk_pbx, 5060, 5060, text(sip("ACK", trunk, trunk_pbx, ++sip_n))));
            stream(trunk, trunk_pbx, 16000 + 2 * c % 4000, port_a, start + 80000, end);
            stream(phone, pbx_lan, 20000 + 2 * c % 4000, port_b, start + 80000, end);
            emit(end, udp(trunk, trunk_pbx, 5060, 5060, text(sip("BYE", trunk, trunk_pbx, ++sip_n))));
        }
        // Phones re-REGISTER every 60 s, trunks keep alive with OPTIONS every 30 s.
        for (unsigned p = 0; p < std::max(1u, std::min(n, 200u)); ++p) {
            const address phone = v4(192, 0, 2, static_cast<std::uint8_t>(20 + p));
            for (std::uint64_t t = rng() % 60'000'000; t < seconds_us; t += 60'000'000)
                emit(t, udp(phone, pbx_lan, 5060, 5060, text(sip("REGISTER", phone, pbx_lan, ++sip_n))));
        }
        for (unsigned k = 0; k < 4; ++k) {
            const address trunk = v4(198, 51, 100, static_cast<std::uint8_t>(20 + k));
            for (std::uint64_t t = rng() % 30'000'000; t < seconds_us; t += 30'000'000)
                emit(t, udp(trunk, pbx_trusted, 5060, 5060, text(sip("OPTIONS", trunk, pbx_trusted, ++sip_n))));
        }
    }

    // A spoofed-source REGISTER flood from `sources` distinct IPv6 /64s (2001:db8:4000::/36 and
    // up, one REGISTER each, spread evenly over the capture) while 200 LAN phones and 50
    // remote extensions (IPv4, so their delivery is counted apart from the flood's) REGISTER
    // every 2.5 s of capture time: few enough that a remote extension stays below the
    // request-rate tiers however fast the capture is replayed.
    void flood(unsigned sources) {
        unsigned n = 0;
        for (unsigned i = 0; i < sources; ++i) {
            const address s = v6(static_cast<std::uint16_t>(0x4000 + (i >> 16)), 1, static_cast<std::uint16_t>(i & 0xffff));
            const std::uint64_t t = seconds_us * i / std::max(1u, sources);
            emit(t, udp(s, pbx_inet6, 5060, 5060, text(sip("REGISTER", s, pbx_inet6, ++n))));
        }
        for (unsigned p = 0; p < 250; ++p) {
            const bool lan = p < 200;
            const address phone = lan ? v4(192, 0, 2, static_cast<std::uint8_t>(20 + p))
                                      : v4(203, 0, 113, static_cast<std::uint8_t>(20 + p - 200));
            const address to = lan ? pbx_lan : pbx_inet;
            for (std::uint64_t t = rng() % 2'500'000; t < seconds_us; t += 2'500'000)
                emit(t, udp(phone, to, 5060, 5060, text(sip("REGISTER", phone, to, 1000000 + ++n))));
        }
    }

    // Internet background: what any public address sees, at a rate independent of calls.
    void noise() {
        unsigned n = 0;
        auto at = [&](double per_second) {  // exponential gaps: a Poisson process
            std::exponential_distribution<double> gap(per_second);
            std::vector<std::uint64_t> ts;
            for (double t = gap(rng) * 1e6; t < static_cast<double>(seconds_us); t += gap(rng) * 1e6)
                ts.push_back(static_cast<std::uint64_t>(t));
            return ts;
        };
        for (const auto t : at(20)) {  // SYN scans of random ports, v4 and a few v6
            const address s = rng() % 8 == 0 ? v6(3, static_cast<std::uint16_t>(rng())) : v4(203, 0, 113, inet_host(rng));
            emit(t, tcp(s, s.v6 ? pbx_inet6 : pbx_inet, 40000 + rng() % 20000, 1 + rng() % 65535, 0x02, 0));
        }
        for (const auto t : at(5)) {  // UDP probes of closed ports (DNS, NTP, SNMP, ...)
            static constexpr unsigned ports[] = {53, 123, 161, 1900, 5353, 11211, 3478};
            emit(t, udp(v4(203, 0, 113, inet_host(rng)), pbx_inet, 40000 + rng() % 20000, ports[rng() % 7], bytes(40, 0)));
        }
        for (const auto t : at(10)) {  // SIP scanners: OPTIONS and REGISTER guessing
            const address s = v4(203, 0, 113, static_cast<std::uint8_t>(230 + rng() % 20));
            emit(t, udp(s, pbx_inet, 5070, 5060, text(sip(rng() % 2 ? "OPTIONS" : "REGISTER", s, pbx_inet, ++n))));
        }
        for (const auto t : at(2)) {  // the blocklisted host keeps trying
            const address s = v4(203, 0, 113, 200);
            emit(t, udp(s, pbx_inet, 5060, 5060, text(sip("INVITE", s, pbx_inet, ++n))));
        }
        for (const auto t : at(2)) {  // pings
            const address s = v4(203, 0, 113, inet_host(rng));
            emit(t, icmp_echo(s, pbx_inet, 0x77, ++n));
        }
        for (const auto t : at(30)) {  // LAN admin: an SSH session and the HTTPS admin UI
            const address s = v4(192, 0, 2, 5);
            const bool ssh = rng() % 3 != 0;
            emit(t, tcp(s, pbx_lan, ssh ? 50022 : 50443, ssh ? 22 : 443, 0x18, ssh ? 36 + rng() % 64 : 517));
        }
    }
};

int usage(const char* why) {
    std::fprintf(stderr,
                 "gen_traffic: %s\nusage: gen_traffic --calls N --seconds S --seed X --out FILE.pcap [--mix full|calls|flood] "
                 "[--sources N]\n",
                 why);
    return 2;
}

bool parse_number(const char* s, unsigned long long max, unsigned long long& out) {
    char* end = nullptr;
    errno = 0;
    const unsigned long long v = std::strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v > max || s[0] == '-') return false;
    out = v;
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    unsigned long long calls = 10, seconds = 10, seed = 1, sources = 100000;
    std::string out, mix = "full";
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (i + 1 >= argc) return usage(("missing value after " + a).c_str());
        const char* v = argv[++i];
        if (a == "--calls") {
            if (!parse_number(v, 100000, calls)) return usage("--calls wants 0..100000");
        } else if (a == "--seconds") {
            if (!parse_number(v, 86400, seconds) || seconds == 0) return usage("--seconds wants 1..86400");
        } else if (a == "--seed") {
            if (!parse_number(v, ~0ull, seed)) return usage("--seed wants a non-negative integer");
        } else if (a == "--out") {
            out = v;
        } else if (a == "--mix") {
            mix = v;
            if (mix != "full" && mix != "calls" && mix != "flood") return usage("--mix is full, calls or flood");
        } else if (a == "--sources") {
            if (!parse_number(v, 16u << 20, sources)) return usage("--sources wants 0..16777216");
        } else {
            return usage(("unknown option " + a).c_str());
        }
    }
    if (out.empty()) return usage("--out is required");

    generator g{std::mt19937_64(seed), seconds * 1'000'000, {}};
    if (mix == "flood") {
        g.flood(static_cast<unsigned>(sources));
    } else {
        g.calls(static_cast<unsigned>(calls));
        if (mix == "full") g.noise();
    }
    std::sort(g.out.begin(), g.out.end(),
              [](const packet& a, const packet& b) { return a.t_us != b.t_us ? a.t_us < b.t_us : a.seq < b.seq; });

    pcap_t* dead = pcap_open_dead(DLT_EN10MB, 65535);
    pcap_dumper_t* d = dead ? pcap_dump_open(dead, out.c_str()) : nullptr;
    if (d == nullptr) {
        std::fprintf(stderr, "gen_traffic: cannot write '%s': %s\n", out.c_str(), dead ? pcap_geterr(dead) : "pcap");
        if (dead) pcap_close(dead);
        return 1;
    }
    const std::uint64_t epoch = 1767225600;  // 2026-01-01: fixed, so the file is reproducible
    for (const packet& p : g.out) {
        pcap_pkthdr h{};
        h.ts.tv_sec = static_cast<time_t>(epoch + p.t_us / 1'000'000);
        h.ts.tv_usec = static_cast<suseconds_t>(p.t_us % 1'000'000);
        h.caplen = h.len = static_cast<bpf_u_int32>(p.frame.size());
        pcap_dump(reinterpret_cast<u_char*>(d), &h, p.frame.data());
    }
    const bool ok = pcap_dump_flush(d) == 0;
    pcap_dump_close(d);
    pcap_close(dead);
    if (!ok) {
        std::fprintf(stderr, "gen_traffic: writing '%s' failed\n", out.c_str());
        return 1;
    }
    if (mix == "flood")
        std::printf("%s: %zu packets, %llu flood sources, %llu s, seed %llu, mix flood\n", out.c_str(), g.out.size(),
                    sources, seconds, seed);
    else
        std::printf("%s: %zu packets, %llu calls, %llu s, seed %llu, mix %s\n", out.c_str(), g.out.size(), calls,
                    seconds, seed, mix.c_str());
    return 0;
}
