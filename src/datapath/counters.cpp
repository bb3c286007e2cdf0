#include "datapath/counters.hpp"

namespace pbxgate {

void worker_counters::copy_queue_stats(const queue_stats& s) noexcept {
    constexpr auto r = std::memory_order_relaxed;
    q_recv_calls.store(s.recv_calls, r);
    q_send_calls.store(s.send_calls, r);
    q_enobufs.store(s.enobufs, r);
    q_recv_errors.store(s.recv_errors, r);
    q_send_errors.store(s.send_errors, r);
    q_netlink_errors.store(s.netlink_errors, r);
    q_parse_errors.store(s.parse_errors, r);
}

counters_snapshot sum_counters(std::span<const worker_counters* const> workers) noexcept {
    constexpr auto r = std::memory_order_relaxed;
    counters_snapshot s;
    for (const worker_counters* w : workers) {
        s.packets += w->packets.load(r);
        s.bytes += w->bytes.load(r);
        s.accepted += w->accepted.load(r);
        s.dropped += w->dropped.load(r);
        s.would_drop += w->would_drop.load(r);
        s.bursts += w->bursts.load(r);
        s.drop_log_overflow += w->drop_log_overflow.load(r);
        s.offloaded_accepts += w->offloaded_accepts.load(r);
        s.offloaded_drops += w->offloaded_drops.load(r);
        for (unsigned i = 0; i < reason_count; ++i) s.by_reason[i] += w->by_reason[i].load(r);
        for (unsigned svc = 0; svc < 256; ++svc)
            for (unsigned z = 0; z < zone_count; ++z)
                for (unsigned v = 0; v < 2; ++v) {
                    s.packets_by[svc][z][v] += w->packets_by[svc][z][v].load(r);
                    s.bytes_by[svc][z][v] += w->bytes_by[svc][z][v].load(r);
                }
        s.recv_calls += w->q_recv_calls.load(r);
        s.send_calls += w->q_send_calls.load(r);
        s.enobufs += w->q_enobufs.load(r);
        s.recv_errors += w->q_recv_errors.load(r);
        s.send_errors += w->q_send_errors.load(r);
        s.netlink_errors += w->q_netlink_errors.load(r);
        s.parse_errors += w->q_parse_errors.load(r);
    }
    return s;
}

}  // namespace pbxgate
