#include "engine/engine.hpp"

#include <signal.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <thread>

#include "engine/drop_log.hpp"
#include "engine/privileges.hpp"
#include "engine/stats_report.hpp"
#include "engine/worker.hpp"
#include "queue/kernel_queue_stats.hpp"
#include "queue/nfqueue_backend.hpp"
#include "reload/policy_slot.hpp"
#include "reload/reloader.hpp"

namespace pbxgate {

backend_factory nfqueue_backend_factory() {
    return [](std::uint16_t queue, const engine_settings& engine, fail_mode fail) -> std::unique_ptr<queue_backend> {
        if (!has_net_admin())
            throw std::runtime_error(
                "binding an NFQUEUE queue needs CAP_NET_ADMIN: run pbxgate as root, or grant the capability "
                "(systemd: AmbientCapabilities=CAP_NET_ADMIN)");
        nfqueue_settings s;
        s.queue_num = queue;
        s.copy_range = engine.copy_range;
        s.queue_maxlen = engine.queue_maxlen;
        s.fail_open = fail == fail_mode::open;
        s.request_conntrack = true;  // used where the kernel has it; probed and dropped otherwise
        s.burst = worker::max_burst;
        return std::make_unique<nfqueue_backend>(s);
    };
}

namespace {

// Token bucket for drop log lines, refilled per second; counts what it suppresses.
class line_budget {
public:
    explicit line_budget(std::uint32_t per_second) : per_second_(per_second), tokens_(per_second) {}
    bool take(std::chrono::steady_clock::time_point now) {
        if (now - refilled_ >= std::chrono::seconds(1)) {
            tokens_ = per_second_;
            refilled_ = now;
        }
        if (tokens_ == 0) {
            ++suppressed_;
            return false;
        }
        --tokens_;
        return true;
    }
    std::uint64_t take_suppressed() { return std::exchange(suppressed_, 0); }
    void set_rate(std::uint32_t per_second) { per_second_ = per_second; }

private:
    std::uint32_t per_second_;
    std::uint32_t tokens_;
    std::uint64_t suppressed_ = 0;
    std::chrono::steady_clock::time_point refilled_{};
};

void set_log_level(const std::string& level) {
    spdlog::set_level(spdlog::level::from_str(level));
}

class pid_file_guard {
public:
    explicit pid_file_guard(std::string path) : path_(std::move(path)) {
        if (path_.empty()) return;
        std::ofstream f(path_, std::ios::trunc);
        f << getpid() << '\n';
        if (!f) throw std::runtime_error("cannot write pid file " + path_ + ": " + std::strerror(errno));
    }
    ~pid_file_guard() {
        if (!path_.empty()) unlink(path_.c_str());
    }
    pid_file_guard(const pid_file_guard&) = delete;
    pid_file_guard& operator=(const pid_file_guard&) = delete;

private:
    std::string path_;
};

class engine {
public:
    engine(const run_options& o, std::unique_ptr<const compiled_policy> initial)
        : options_(o), slot_(std::move(initial)), budget_(slot_.current()->policy->engine().drop_log_per_second) {}

    void start(const backend_factory& make_backend) {
        const published_policy* pub = slot_.current();
        const engine_settings& eng = pub->policy->engine();
        const fail_mode fail = options_.fail.value_or(eng.fail);
        for (const std::uint16_t q : options_.queues) backends_.push_back(make_backend(q, eng, fail));
        if (options_.drop_privileges) drop_privileges(options_.user);  // before any thread: caps are per thread
        worker_settings ws;
        ws.mode = options_.mode;
        for (auto& b : backends_) workers_.push_back(std::make_unique<worker>(*b, slot_, ws));
        // A drained packet gets what the admin chose for "engine unavailable".
        const verdict drain_verdict = fail == fail_mode::open ? verdict::accept : verdict::drop;
        for (auto& w : workers_)
            threads_.emplace_back([this, w = w.get(), drain_verdict] {
                qsbr_reader registration;
                w->run(stop_, drain_verdict);
            });
        spdlog::info("pbxgate {}: policy {} (generation {}), {} queue(s) bound, mode {}, fail {}", PBXGATE_VERSION,
                     options_.policy_path, pub->generation, backends_.size(),
                     options_.mode.value_or(eng.mode) == engine_mode::monitor ? "monitor" : "enforce",
                     fail == fail_mode::open ? "open" : "closed");
    }

    void stop() {
        stop_ = true;
        for (auto& t : threads_) t.join();
        threads_.clear();
        drain_drop_log();
    }

    void reload() {
        const reload_outcome r = reload_policy(options_.policy_path, slot_);
        if (!r.ok) {
            ++reload_failures_;
            for (const diagnostic& d : r.errors) spdlog::error("{}", d.to_string());
            spdlog::error("reload refused: {} error(s); generation {} stays in force", r.errors.size(), r.generation);
            return;
        }
        ++reloads_;
        const engine_settings& eng = slot_.current()->policy->engine();
        set_log_level(eng.log_level);
        budget_.set_rate(eng.drop_log_per_second);
        spdlog::info("reloaded {}: generation {}: {}", options_.policy_path, r.generation, r.summary);
    }

    void drain_drop_log() {
        const auto now = std::chrono::steady_clock::now();
        const published_policy* pub = slot_.current();
        for (auto& w : workers_) {
            drop_record rec;
            while (w->drops().pop(rec)) {
                if (!budget_.take(now)) continue;
                // Service ids belong to a generation: name it only when it is the current one.
                const std::string_view name =
                    rec.generation == pub->generation ? pub->policy->service_name(rec.service) : std::string_view{};
                spdlog::warn("{}", format_drop(rec, name));
            }
        }
        if (now - last_suppressed_report_ >= std::chrono::seconds(10)) {
            if (const auto n = budget_.take_suppressed()) spdlog::warn("{} drop log lines suppressed (rate limit)", n);
            last_suppressed_report_ = now;
        }
    }

    void report() {
        engine_status s;
        std::vector<const worker_counters*> counters;
        for (const auto& w : workers_) counters.push_back(&w->counters());
        s.counters = sum_counters(counters);
        const published_policy* pub = slot_.current();
        s.generation = pub->generation;
        s.reloads = reloads_;
        s.reload_failures = reload_failures_;
        s.queues = options_.queues;
        if (auto k = read_kernel_queue_stats()) s.kernel = std::move(*k);
        for (const std::string& line : format_status_lines(s, *pub->policy)) spdlog::info("{}", line);
        if (!options_.stats_file.empty()) {
            const std::string tmp = options_.stats_file + ".tmp";
            {
                std::ofstream f(tmp, std::ios::trunc);
                f << format_status_json(s, *pub->policy) << '\n';
            }
            if (std::rename(tmp.c_str(), options_.stats_file.c_str()) != 0)
                spdlog::error("cannot write stats file {}: {}", options_.stats_file, std::strerror(errno));
        }
    }

private:
    run_options options_;
    policy_slot slot_;
    std::vector<std::unique_ptr<queue_backend>> backends_;
    std::vector<std::unique_ptr<worker>> workers_;
    std::vector<std::thread> threads_;
    std::atomic<bool> stop_{false};
    line_budget budget_;
    std::chrono::steady_clock::time_point last_suppressed_report_{};
    std::uint64_t reloads_ = 0;
    std::uint64_t reload_failures_ = 0;
};

}  // namespace

int run_engine(const run_options& options, const backend_factory& make_backend) {
    const load_result loaded = load_policy(options.policy_path);
    if (!loaded.ok()) {
        for (const diagnostic& d : loaded.errors) spdlog::error("{}", d.to_string());
        spdlog::error("{}: {} error(s), not starting", options.policy_path, loaded.errors.size());
        return 1;
    }
    set_log_level(loaded.value->engine.log_level);

    // Signals are taken synchronously by the main thread (sigtimedwait); block them before
    // any thread starts so every worker inherits the mask.
    sigset_t signals;
    sigemptyset(&signals);
    for (const int s : {SIGTERM, SIGINT, SIGHUP, SIGUSR1}) sigaddset(&signals, s);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    std::unique_ptr<engine> e;
    std::unique_ptr<pid_file_guard> pid;
    try {
        e = std::make_unique<engine>(options, compiled_policy::compile(*loaded.value));
        e->start(make_backend);
        pid = std::make_unique<pid_file_guard>(options.pid_file);
    } catch (const std::exception& ex) {
        spdlog::error("cannot start: {}", ex.what());
        if (e) e->stop();
        return 1;
    }

    auto next_report = std::chrono::steady_clock::now() + options.stats_interval;
    for (;;) {
        const timespec tick{0, 100'000'000};
        const int sig = sigtimedwait(&signals, nullptr, &tick);
        if (sig == SIGTERM || sig == SIGINT) {
            spdlog::info("{}: stopping, verdicting every queued packet first", sig == SIGTERM ? "SIGTERM" : "SIGINT");
            break;
        }
        if (sig == SIGHUP) e->reload();
        if (sig == SIGUSR1) e->report();
        e->drain_drop_log();
        if (options.stats_interval.count() > 0 && std::chrono::steady_clock::now() >= next_report) {
            e->report();
            next_report += options.stats_interval;
        }
    }
    e->stop();
    e->report();
    return 0;
}

}  // namespace pbxgate
