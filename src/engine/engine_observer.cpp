#include "engine/engine_observer.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "engine/service_notify.hpp"
#include "queue/kernel_queue_stats.hpp"
#include "util/clock.hpp"

namespace pbxgate {
namespace {

// A worker wakes at least every 100 ms (worker_settings::poll); one silent for this long is
// stuck, and the watchdog is left to fire.
constexpr double stale_heartbeat_seconds = 5.0;

}  // namespace

void engine_observer::start(const engine_settings& engine, std::span<const std::uint16_t> queues,
                            std::span<const worker_counters* const> counters, const published_policy& pub) {
    queues_.assign(queues.begin(), queues.end());
    counters_.assign(counters.begin(), counters.end());
    start_time_ = unix_now();
    start_steady_ns_ = steady_ns();
    last_reload_ok_ = start_time_;
    remember_names(pub);
    if (!engine.metrics.empty()) {
        std::string why;
        if (const auto at = parse_listen_address(engine.metrics, &why)) {
            try {
                endpoint_ = std::make_unique<http_endpoint>(*at, [this] { return format_prometheus(snapshot()); });
                spdlog::info("metrics: http://{}:{}/metrics", at->ipv6 ? "[" + at->host + "]" : at->host,
                             endpoint_->port());
            } catch (const std::exception& ex) {
                spdlog::error("{}; running without metrics", ex.what());
            }
        } else {
            spdlog::error("metrics: {}; running without metrics", why);
        }
    }
    if (service_notify::under_systemd()) {
        notifier_ = std::thread([this] { notifier(); });
        service_notify::ready(status_line());
    }
}

void engine_observer::reloading() noexcept { service_notify::reloading(); }

void engine_observer::reloaded(bool ok, const published_policy& pub) {
    if (ok) {
        reloads_.fetch_add(1, std::memory_order_relaxed);
        last_reload_ok_ = unix_now();
        remember_names(pub);
    } else {
        reload_failures_.fetch_add(1, std::memory_order_relaxed);
    }
    service_notify::ready(status_line());
}

void engine_observer::stop() noexcept {
    {
        std::lock_guard lock(stop_mutex_);
        if (stopping_) return;
        stopping_ = true;
    }
    if (!counters_.empty()) service_notify::stopping();
    stop_cv_.notify_all();
    if (notifier_.joinable()) notifier_.join();
    endpoint_.reset();
}

void engine_observer::remember_names(const published_policy& pub) {
    std::vector<std::string> names{"none"};
    for (std::size_t id = 1; id <= pub.policy->service_count() && id < 256; ++id)
        names.emplace_back(pub.policy->service_name(static_cast<service_id>(id)));
    std::lock_guard lock(names_mutex_);
    names_ = std::move(names);
    generation_ = pub.generation;
}

metrics_snapshot engine_observer::snapshot() const {
    metrics_snapshot m;
    m.status.counters = sum_counters(counters_);
    if (sip_source_) m.sip = sip_source_();
    if (crowdsec_source_) m.crowdsec = crowdsec_source_();
    if (blocklist_source_) m.status.blocklists = blocklist_source_();
    {
        std::lock_guard lock(names_mutex_);
        m.service_names = names_;
        m.status.generation = generation_;
    }
    copy_reload_counts(m.status);
    m.status.queues = queues_;
    if (auto k = read_kernel_queue_stats()) m.status.kernel = std::move(*k);
    add_prefilter_drops(m.status, prefilter_dropped_.load(std::memory_order_relaxed),
                        prefilter_bytes_.load(std::memory_order_relaxed));
    const std::uint64_t now = steady_ns();
    for (const worker_counters* w : counters_) {
        std::uint64_t beat = w->heartbeat_ns.load(std::memory_order_relaxed);
        if (beat == 0) beat = start_steady_ns_;  // not round its loop yet: count from the start
        m.heartbeat_age_seconds.push_back(now > beat ? static_cast<double>(now - beat) / 1e9 : 0.0);
    }
    m.start_time_unix = start_time_;
    return m;
}

void engine_observer::copy_reload_counts(engine_status& s) const noexcept {
    s.reloads = reloads_.load(std::memory_order_relaxed);
    s.reload_failures = reload_failures_.load(std::memory_order_relaxed);
    s.last_reload_success_unix = last_reload_ok_.load(std::memory_order_relaxed);
}

double engine_observer::oldest_heartbeat_age() const noexcept {
    const std::uint64_t now = steady_ns();
    double oldest = 0;
    for (const worker_counters* w : counters_) {
        std::uint64_t beat = w->heartbeat_ns.load(std::memory_order_relaxed);
        if (beat == 0) beat = start_steady_ns_;
        if (now > beat) oldest = std::max(oldest, static_cast<double>(now - beat) / 1e9);
    }
    return oldest;
}

std::string engine_observer::status_line() const {
    const counters_snapshot c = sum_counters(counters_);
    char buf[256];
    std::snprintf(buf, sizeof buf, "generation %llu; %llu packets: %llu accepted, %llu dropped; reloads %llu ok, %llu failed",
                  static_cast<unsigned long long>(generation_.load()), static_cast<unsigned long long>(c.packets),
                  static_cast<unsigned long long>(c.accepted), static_cast<unsigned long long>(c.dropped),
                  static_cast<unsigned long long>(reloads_.load()), static_cast<unsigned long long>(reload_failures_.load()));
    return buf;
}

void engine_observer::notifier() noexcept {
    // Ping at a third of WatchdogSec (systemd's advice is under half), and refresh STATUS
    // at least every 5 s. A stuck worker withholds the ping, so systemd restarts us.
    const auto wd = service_notify::watchdog_interval();
    auto period = std::chrono::milliseconds(5000);
    if (wd) period = std::min(period, std::chrono::duration_cast<std::chrono::milliseconds>(*wd / 3));
    std::unique_lock lock(stop_mutex_);
    bool warned = false;
    while (!stop_cv_.wait_for(lock, period, [this] { return stopping_; })) {
        service_notify::status(status_line());
        if (!wd) continue;
        const double age = oldest_heartbeat_age();
        if (age < stale_heartbeat_seconds) {
            service_notify::watchdog();
            warned = false;
        } else if (!warned) {
            spdlog::critical("a worker has not run for {:.1f} s: withholding the watchdog ping", age);
            warned = true;
        }
    }
}

}  // namespace pbxgate
