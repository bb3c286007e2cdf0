// What the engine tells the outside world while it runs: systemd (READY, RELOADING, STATUS,
// watchdog pings fed by the workers' heartbeats) and Prometheus (the metrics endpoint).
// Kept apart from the engine's main loop, which only calls the hooks below at the matching
// moments; everything here runs on its own threads and reads only atomics and a copy of
// the service names, never the RCU-protected policy (those threads are not RCU readers).
#pragma once

#include <atomic>
#include <functional>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "datapath/counters.hpp"
#include "metrics/http_endpoint.hpp"
#include "metrics/prometheus_text.hpp"
#include "pbxgate/policy.hpp"
#include "reload/policy_slot.hpp"

namespace pbxgate {

class engine_observer {
public:
    engine_observer() = default;
    ~engine_observer() { stop(); }
    engine_observer(const engine_observer&) = delete;
    engine_observer& operator=(const engine_observer&) = delete;

    // Main thread, once the queues are bound, the workers run and `pub` is in force.
    // Opens the metrics endpoint (a failure to bind is logged, not fatal: filtering
    // matters more than monitoring), starts the systemd thread, and sends READY.
    void start(const engine_settings& engine, std::span<const std::uint16_t> queues,
               std::span<const worker_counters* const> counters, const published_policy& pub);
    void reloading() noexcept;
    // After a reload attempt; `pub` is the generation now in force either way.
    void reloaded(bool ok, const published_policy& pub);
    // Before the workers stop: STOPPING, then the threads end.
    void stop() noexcept;

    // Main thread: the kernel pre-filter's drops so far (kernel_prefilter::dropped_packets).
    void set_prefilter_dropped(std::uint64_t packets, std::uint64_t bytes) noexcept {
        prefilter_dropped_ = packets;
        prefilter_bytes_ = bytes;
    }

    // Thread-safe: the numbers the metrics endpoint serves.
    metrics_snapshot snapshot() const;
    // The reload counts and the last successful load (the start counts), kept here only, so
    // the stats file, the log and the metrics report the same numbers.
    void copy_reload_counts(engine_status& s) const noexcept;
    // Before start(): where the SIP protection numbers come from (thread-safe callable).
    void set_sip_source(std::function<sip_metrics()> source) { sip_source_ = std::move(source); }
    // Before start(): the CrowdSec link's numbers (thread-safe callable).
    void set_crowdsec_source(std::function<crowdsec_metrics()> source) { crowdsec_source_ = std::move(source); }
    // Before start(): where the blocklist numbers come from (thread-safe callable).
    void set_blocklist_source(std::function<blocklist_metrics()> source) { blocklist_source_ = std::move(source); }
    // The metrics endpoint's bound port; 0 when it is off or could not bind.
    std::uint16_t metrics_port() const noexcept { return endpoint_ ? endpoint_->port() : 0; }
    // Seconds since the stalest worker's heartbeat (0 without workers).
    double oldest_heartbeat_age() const noexcept;

private:
    void remember_names(const published_policy& pub);
    std::string status_line() const;
    void notifier() noexcept;

    std::vector<std::uint16_t> queues_;
    std::vector<const worker_counters*> counters_;
    std::function<sip_metrics()> sip_source_;
    std::function<crowdsec_metrics()> crowdsec_source_;
    std::function<blocklist_metrics()> blocklist_source_;
    mutable std::mutex names_mutex_;
    std::vector<std::string> names_;  // service id -> name, of generation_
    std::atomic<std::uint64_t> generation_{0};
    std::atomic<std::uint64_t> reloads_{0};
    std::atomic<std::uint64_t> reload_failures_{0};
    std::atomic<std::uint64_t> prefilter_dropped_{0};
    std::atomic<std::uint64_t> prefilter_bytes_{0};
    std::atomic<double> last_reload_ok_{0};
    double start_time_ = 0;
    std::uint64_t start_steady_ns_ = 0;
    std::unique_ptr<http_endpoint> endpoint_;
    std::thread notifier_;
    std::mutex stop_mutex_;
    std::condition_variable stop_cv_;
    bool stopping_ = false;
};

}  // namespace pbxgate
