// Micro-benchmark: ns per SIP message read (a ~600-byte REGISTER with credentials), per
// scanner-list match of a benign request (the default lists), per source-state update (the
// protection table's request path) and the whole inspection of a request (read + judgement).
// `--smoke` runs a tiny pass so ctest keeps it building and running.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "protect/sip_guard.hpp"
#include "sip/sip_message.hpp"
#include "sip_samples.hpp"
#include "bench_timing.hpp"

using namespace pbxgate;

using bench::best_ns;

int main(int argc, char** argv) {
    const bool smoke = argc > 1 && std::strcmp(argv[1], "--smoke") == 0;
    const std::uint64_t iters = smoke ? 1000 : 2'000'000;
    const unsigned passes = smoke ? 1 : 7;
    const std::string& msg = test::sip_register_with_auth;
    unsigned sink = 0;
    // Read into one view reused message after message, as the packet path's SIP stage does;
    // many short passes (the message stays in cache, so a pass needs no warm-up).
    sip::message_view read_view;
    const unsigned read_passes = smoke ? 1 : 1000;
    const std::uint64_t read_iters = smoke ? iters : 2000;
    const bench::pass_times parse = bench::time_passes(read_passes, read_iters, [&](std::uint64_t) {
        sink += static_cast<unsigned>(sip::parse_message(msg, read_view)) + read_view.cseq;
        asm volatile("" : : "g"(&read_view) : "memory");
    });
    std::printf("sip parse: %.1f ns/message (REGISTER, %zu bytes; best of %u passes of %llu, median %.1f)\n",
                parse.best, msg.size(), read_passes, static_cast<unsigned long long>(read_iters), parse.median);

    // Source-state update: a REGISTER request from one of 32768 sources judged by the guard
    // (scanner lists, table lookup, retransmission ring, rate tiers). Each source asks once per
    // 15 minutes of guard time (96 a day, across all passes): below every request-rate tier, so
    // this is the common "count and pass" path, never the early return of a banned source.
    constexpr std::uint32_t sources = 32768;
    const auto src_of = [](std::uint64_t i) {
        return ip_address::v4(0xc6330000u + static_cast<std::uint32_t>(i % sources));  // 198.51.0.0/17
    };
    const auto now_of = [](std::uint64_t n) { return static_cast<protect::seconds_t>(n * 900 / sources + 1); };
    std::uint64_t n1 = 0, n2 = 0;  // requests so far: the guard clock keeps moving from pass to pass
    // As the policy loader leaves them: the scanner lists' pair filters built.
    const protect::guard_settings gs = [] {
        protect::guard_settings s;
        index_scanner_lists(s);
        return s;
    }();
    protect::sip_guard guard(1 << 16, 32, 64);
    sip::message_view m;
    sip::parse_message(msg, m);
    std::uint64_t drops = 0;
    const double update_ns = best_ns(passes, iters, [&](std::uint64_t i) {
        m.cseq = static_cast<std::uint32_t>(i);  // a new transaction each time: no retransmission shortcut
        const auto out = guard.on_request(gs, src_of(i), zone::internet, m, now_of(n1++), false);
        drops += out.action == verdict::drop;
    });
    std::printf("source state update: %.1f ns/request (%u sources, %llu dropped)\n", update_ns, sources,
                static_cast<unsigned long long>(drops));

    // Scanner lists alone: User-Agent, From display and From user of a benign phone against the
    // default list (a hit would end the search early; a benign request walks it all).
    const double scan_ns = best_ns(passes, iters, [&](std::uint64_t) {
        asm volatile("" : : "g"(&m) : "memory");
        sink += static_cast<unsigned>(protect::scanner_match(gs, m).size());
    });
    std::printf("scanner lists: %.1f ns/request (benign User-Agent, %zu signatures)\n", scan_ns, gs.scanners.size());

    // The whole inspection of one request on the packet path: read it, then the guard's
    // judgement (scanner lists, table lookup, retransmission ring, rate tiers).
    protect::sip_guard guard2(1 << 16, 32, 64);
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(msg.data());
    std::uint64_t drops2 = 0;
    sip::message_view v;
    const double inspect_ns = best_ns(passes, iters, [&](std::uint64_t i) {
        sip::parse_message(bytes, msg.size(), v);
        v.cseq = static_cast<std::uint32_t>(i);
        const auto out = guard2.on_request(gs, src_of(i), zone::internet, v, now_of(n2++), false);
        drops2 += out.action == verdict::drop;
    });
    std::printf("sip inspection: %.1f ns/request (read + judgement, REGISTER, %u sources, %llu dropped)\n",
                inspect_ns, sources, static_cast<unsigned long long>(drops2));
    asm volatile("" : : "g"(sink) : "memory");
    return 0;
}
