// Per-worker counters. Each worker writes only its own block (aligned to cache lines, so
// workers never share one) with plain relaxed load+store: there is a single writer, so no
// locked read-modify-write is needed. Readers sum the blocks with relaxed loads; a sum may
// be a few packets behind, never torn.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <span>

#include "pbxgate/verdict.hpp"
#include "queue/queue_backend.hpp"
#include "util/single_writer_counter.hpp"

namespace pbxgate {

struct alignas(64) worker_counters {
    counter packets{0};
    counter bytes{0};
    counter accepted{0};     // verdicts actually given
    counter dropped{0};
    counter would_drop{0};   // monitor mode: dropped by the policy, accepted by the engine
    counter bursts{0};
    counter drop_log_overflow{0};  // drop records lost because the log ring was full
    counter heartbeat_ns{0};       // steady_clock time of the worker's last loop
    counter offloaded_accepts{0};  // flows handed to the kernel with the offload accept mark
    counter offloaded_drops{0};    // flows handed to the kernel with the offload drop mark
    std::array<counter, reason_count> by_reason{};
    // [service id][zone][verdict given by the policy]: packets and bytes
    std::array<std::array<std::array<counter, 2>, zone_count>, 256> packets_by{};
    std::array<std::array<std::array<counter, 2>, zone_count>, 256> bytes_by{};
    // A copy of the backend's own stats, refreshed each burst (the backend is the
    // worker's alone; this is how other threads see it).
    counter q_recv_calls{0}, q_send_calls{0}, q_enobufs{0}, q_recv_errors{0}, q_send_errors{0},
        q_netlink_errors{0}, q_parse_errors{0}, q_resent_verdicts{0};

    void count(const decision& d, verdict given, std::uint32_t wire_len) noexcept {
        bump(packets);
        bump(bytes, wire_len);
        bump(given == verdict::accept ? accepted : dropped);
        if (d.action == verdict::drop && given == verdict::accept) bump(would_drop);
        bump(by_reason[static_cast<unsigned>(d.why)]);
        auto& cell = packets_by[d.service][static_cast<unsigned>(d.from)][static_cast<unsigned>(d.action)];
        bump(cell);
        bump(bytes_by[d.service][static_cast<unsigned>(d.from)][static_cast<unsigned>(d.action)], wire_len);
    }
    void copy_queue_stats(const queue_stats& s) noexcept;
};

// A plain-number sum over workers, taken by the reporting thread.
struct counters_snapshot {
    std::uint64_t packets = 0, bytes = 0, accepted = 0, dropped = 0, would_drop = 0, bursts = 0;
    std::uint64_t drop_log_overflow = 0;
    std::uint64_t offloaded_accepts = 0, offloaded_drops = 0;
    std::array<std::uint64_t, reason_count> by_reason{};
    std::array<std::array<std::array<std::uint64_t, 2>, zone_count>, 256> packets_by{};
    std::array<std::array<std::array<std::uint64_t, 2>, zone_count>, 256> bytes_by{};
    std::uint64_t recv_calls = 0, send_calls = 0, enobufs = 0, recv_errors = 0, send_errors = 0,
                  netlink_errors = 0, parse_errors = 0, resent_verdicts = 0;
};

counters_snapshot sum_counters(std::span<const worker_counters* const> workers) noexcept;

}  // namespace pbxgate
