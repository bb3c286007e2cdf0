// Micro-benchmark: ns per pinhole lookup (the first packets of an RTP flow before it is
// offloaded) with 20,000 pinholes open (10,000 calls, RTP and RTCP), hits and misses
// (injected RTP), in a random order over the whole table (cache misses included).
// `--smoke` runs a tiny pass so ctest keeps it building and running.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "media/pinhole_table.hpp"
#include "sip/sdp.hpp"
#include "bench_timing.hpp"

using namespace pbxgate;

using bench::best_ns;

int main(int argc, char** argv) {
    const bool smoke = argc > 1 && std::strcmp(argv[1], "--smoke") == 0;
    const unsigned calls = smoke ? 100 : 10000;
    const std::uint64_t iters = smoke ? 1000 : 4'000'000;
    const unsigned passes = smoke ? 1 : 7;
    media::pinhole_table table(40000);  // the shipped [media] capacity
    struct flow {
        std::uint16_t port;
        ip_address remote;
    };
    std::vector<flow> flows;
    for (unsigned c = 0; c < calls; ++c) {
        // Each call: a remote on its own address (c= equals the SIP peer: 2 pinholes, RTP
        // and RTCP), the PBX's port from 10000-19998.
        const ip_address remote = ip_address::v4(0xc6330000u + c);  // 198.51.x.y, distinct
        const auto port = static_cast<std::uint16_t>(10000 + (c % 5000) * 2);
        const std::string call_id = "call-" + std::to_string(c);
        const std::string remote_sdp =
            "v=0\r\nc=IN IP4 " + to_string(remote) + "\r\nm=audio 40000 RTP/AVP 0\r\n";
        const std::string pbx_sdp = "v=0\r\nc=IN IP4 192.0.2.1\r\nm=audio " + std::to_string(port) + " RTP/AVP 0\r\n";
        sip::sdp_view r, p;
        sip::parse_sdp(remote_sdp, r);
        sip::parse_sdp(pbx_sdp, p);
        table.on_sdp(media::sdp_seen{call_id, false, remote, &r, 1});
        table.on_sdp(media::sdp_seen{call_id, true, remote, &p, 1});
        flows.push_back({port, remote});
        flows.push_back({static_cast<std::uint16_t>(port + 1), remote});
    }
    std::mt19937 rng(7);
    std::shuffle(flows.begin(), flows.end(), rng);
    const media::timeouts t{};
    const media::table_counts n = table.counts(2, t);
    unsigned found = 0;
    const double hit_ns = best_ns(passes, iters, [&](std::uint64_t i) {
        const flow& f = flows[i % flows.size()];
        found += table.find(f.port, f.remote, 2, t) != media::no_slot;
    });
    unsigned missed = 0;
    const double miss_ns = best_ns(passes, iters, [&](std::uint64_t i) {
        const flow& f = flows[i % flows.size()];
        const ip_address injector = ip_address::v4(0xcb007100u + static_cast<std::uint32_t>(i & 255));
        missed += table.find(f.port, injector, 2, t) == media::no_slot;
    });
    std::printf("pinholes: %llu open (%u calls), table %zu slots\n", static_cast<unsigned long long>(n.pinholes), calls,
                table.slot_count());
    std::printf("pinhole lookup, hit: %.1f ns/lookup\n", hit_ns);
    std::printf("pinhole lookup, miss (injected RTP): %.1f ns/lookup\n", miss_ns);
    if (found == 0 || missed == 0 || n.pinholes != 2ull * calls) {
        std::fprintf(stderr, "bench_pinholes: unexpected table state (%u found, %u missed)\n", found, missed);
        return 1;
    }
    return 0;
}
