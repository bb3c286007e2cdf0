// worker: one thread per NFQUEUE queue. receive a burst -> parse -> classify -> verdicts,
// the whole burst judged by one policy generation, then a quiescent state. No lock, no
// allocation, no exception on this path.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <optional>

#include "blocklist/blocklist_slot.hpp"
#include "datapath/counters.hpp"
#include "datapath/drop_log.hpp"
#include "offload/offload_decider.hpp"
#include "protect/sip_stage.hpp"
#include "queue/queue_backend.hpp"
#include "reload/policy_slot.hpp"

namespace pbxgate {

struct worker_settings {
    std::optional<engine_mode> mode;  // overrides the policy's [engine] mode when set
    std::chrono::milliseconds poll{100};  // longest wait in receive, so a stop is seen quickly
    // Receive errors in a row back off from min_backoff, doubling up to `poll`.
    std::chrono::milliseconds min_backoff{1};
    protect::sip_guard* guard = nullptr;  // SIP protection state shared by all workers (none: off)
    const blocklist::blocklist_slot* blocklists = nullptr;  // [blocklists] entries (none: no lists)
    // Media pinholes shared by all workers (none: `media = "negotiated"` is not enforced).
    media::pinhole_table* pinholes = nullptr;
};

class worker {
public:
    static constexpr std::size_t max_burst = 64;

    worker(queue_backend& backend, const policy_slot& slot, worker_settings settings) noexcept
        : backend_(backend), slot_(slot), settings_(settings) {}

    // The thread body: runs until `stop`, then judges what is already waiting, drains the
    // rest with `drain_verdict` and closes the queue at once, so nothing waits in a queue
    // nobody reads. A receive that keeps failing backs off and leaves the heartbeat stale,
    // so the watchdog sees a worker that cannot receive.
    // The calling thread must be registered as an RCU reader (qsbr_reader).
    void run(const std::atomic<bool>& stop, verdict drain_verdict) noexcept;

    // Judge and verdict one burst with one policy generation (also used by unit tests).
    void judge_burst(std::span<const received_packet> burst, const published_policy& pub) noexcept;

    worker_counters& counters() noexcept { return counters_; }
    const worker_counters& counters() const noexcept { return counters_; }
    drop_ring& drops() noexcept { return drops_; }
    const protect::sip_counters& sip_counters() const noexcept { return sip_; }
    const media::media_counters& media_counters() const noexcept { return media_; }

private:
    // Offers a queue_overrun record when the backend counted new ENOBUFS, at most once a second.
    void report_overruns() noexcept;

    queue_backend& backend_;
    const policy_slot& slot_;
    worker_settings settings_;
    std::array<received_packet, max_burst> burst_{};
    worker_counters counters_;
    drop_ring drops_;
    recent_flows recent_;
    offload_decider offload_;
    std::uint64_t overruns_reported_ = 0;
    std::uint64_t overrun_reported_s_ = 0;
    protect::sip_counters sip_;
    media::media_counters media_;
    sip::message_view message_;  // the SIP stage's scratch
};

}  // namespace pbxgate
