#include "pbxgate/replay.hpp"

#include <algorithm>

#include "media/media_stage.hpp"
#include "protect/sip_stage.hpp"
#include "util/thread_clock.hpp"

namespace pbxgate {

void replay_tally::add(const decision& d) noexcept {
    ++packets;
    if (d.action == verdict::accept) ++accept;
    else ++drop;
    ++by_service[d.service];
    ++by_zone[static_cast<unsigned>(d.from)];
    ++by_reason[static_cast<unsigned>(d.why)];
}

void replay_capture(const compiled_policy& policy, const capture_contents& capture, replay_tally& tally,
                    const replay_observer& observe, replay_sip* sip) {
    tally.skipped += capture.skipped;
    const packet_meta inbound{};  // offline: no interface, so localhost means a loopback source
    if (sip != nullptr && !sip->guard) {
        const sip_settings& s = policy.source().sip;
        sip->now = std::make_shared<std::uint32_t>(1);
        sip->guard = std::make_shared<protect::sip_guard>(s.capacity, s.ipv4_prefix, s.ipv6_prefix,
                                                          [clock = sip->now] { return *clock; });
    }
    if (sip != nullptr && !sip->pinholes)
        sip->pinholes = std::make_shared<media::pinhole_table>(policy.source().media.capacity);
    protect::sip_counters counters;
    media::media_counters media_counters;
    sip::message_view message;
    for (const captured_packet& p : capture.packets) {
        packet_view view;
        parse_ip_packet(p.ip.data(), p.ip.size(), p.wire_len, view);
        decision d = policy.classify(view, inbound);
        if (sip != nullptr && view.ok()) {
            // Capture time is the clock (never 0, never backwards: some captures jump).
            const auto t = p.time_s > 0 ? static_cast<protect::seconds_t>(p.time_s) : 1;
            if (t > *sip->now) *sip->now = t;
            protect::sip_stage_input in;
            in.view = &view;
            in.now = *sip->now;
            for (const ip_prefix& pbx : sip->pbx)
                if (pbx.contains(view.src.unmapped())) in.outbound = true;
            in.pinholes = sip->pinholes.get();
            in.media = &media_counters;
            const protect::guard_outcome o = protect::sip_stage(policy, *sip->guard, in, d, counters, message);
            if (o.banned_now)
                sip->bans.push_back({o.event.source, std::string(protect::to_string(o.event.why)), p.index,
                                     o.event.duration_s});
            if (!in.outbound && media::applies(policy, d)) media::judge(policy, *sip->pinholes, view, in.now, d);
        }
        tally.add(d);
        if (observe) observe(p, view, d);
    }
}

void packet_arena::add(const captured_packet& p) {
    // Keep every packet 8-byte aligned, as a netlink receive buffer would.
    const std::size_t at = (bytes_.size() + 7) & ~std::size_t{7};
    bytes_.resize(at + p.ip.size());
    std::copy(p.ip.begin(), p.ip.end(), bytes_.begin() + static_cast<std::ptrdiff_t>(at));
    offsets_.push_back({static_cast<std::uint32_t>(at), static_cast<std::uint32_t>(p.ip.size()), p.wire_len});
}

timing time_judging(const compiled_policy& policy, const packet_arena& arena, unsigned passes,
                    std::uint64_t min_packets_per_pass) {
    timing t;
    if (arena.size() == 0 || passes == 0) return t;
    const auto entries = arena.entries();
    const std::uint64_t rounds = std::max<std::uint64_t>(1, (min_packets_per_pass + entries.size() - 1) / entries.size());
    t.packets_per_pass = rounds * entries.size();
    t.passes = passes;
    std::vector<double> per_pass;
    const packet_meta inbound{};
    unsigned sink = 0;  // folds every verdict in, so the loop cannot be optimised away
    for (unsigned pass = 0; pass < passes; ++pass) {
        // Thread CPU time, not wall time: on a shared machine a descheduled pass would
        // otherwise count time the loop never ran.
        const double start = thread_cpu_ns();
        for (std::uint64_t r = 0; r < rounds; ++r) {
            for (const auto& e : entries) {
                packet_view view;
                parse_ip_packet(arena.data() + e.offset, e.captured, e.wire_len, view);
                const decision d = policy.classify(view, inbound);
                sink += static_cast<unsigned>(d.action) + d.service;
            }
        }
        const double ns = thread_cpu_ns() - start;
        per_pass.push_back(ns / static_cast<double>(t.packets_per_pass));
    }
    std::sort(per_pass.begin(), per_pass.end());
    t.best_ns_per_packet = per_pass.front();
    t.median_ns_per_packet = per_pass[per_pass.size() / 2];
    asm volatile("" : : "g"(sink) : "memory");  // keep the verdicts observable
    return t;
}

}  // namespace pbxgate
