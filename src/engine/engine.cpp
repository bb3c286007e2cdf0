#include "engine/engine.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <thread>

#include "engine/drop_log.hpp"
#include "engine/engine_observer.hpp"
#include "engine/log_setup.hpp"
#include "engine/reason_log_budget.hpp"
#include "engine/privileges.hpp"
#include "engine/stats_report.hpp"
#include "engine/worker.hpp"
#include "offload/conntrack_revoker.hpp"
#include "queue/kernel_queue_stats.hpp"
#include "queue/nfqueue_backend.hpp"
#include "reload/file_watcher.hpp"
#include "reload/policy_slot.hpp"
#include "reload/reload_status.hpp"
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

long pid_in_file(const std::string& path) {
    std::ifstream f(path);
    long pid = 0;
    return f >> pid ? pid : 0;
}

// The pid file, and the reload status file beside it (removed at exit, only if still ours:
// a second engine started with the same pid file must not lose its own).
class pid_file_guard {
public:
    explicit pid_file_guard(std::string path) : path_(std::move(path)) {
        if (path_.empty()) return;
        if (const long other = pid_in_file(path_); other > 0 && other != getpid() && kill(static_cast<pid_t>(other), 0) == 0)
            spdlog::warn("pid file {} names running process {}; taking it over (give each engine its own --pid-file)",
                         path_, other);
        const std::string tmp = path_ + ".tmp";
        {
            std::ofstream f(tmp, std::ios::trunc);
            f << getpid() << '\n';
            if (!f) throw std::runtime_error("cannot write pid file " + tmp + ": " + std::strerror(errno));
        }
        if (std::rename(tmp.c_str(), path_.c_str()) != 0)
            throw std::runtime_error("cannot write pid file " + path_ + ": " + std::strerror(errno));
    }
    ~pid_file_guard() {
        if (path_.empty() || pid_in_file(path_) != getpid()) return;
        unlink(reload_status_path(path_).c_str());
        unlink(path_.c_str());
    }
    pid_file_guard(const pid_file_guard&) = delete;
    pid_file_guard& operator=(const pid_file_guard&) = delete;

private:
    std::string path_;
};

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

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
        std::vector<const worker_counters*> counters;
        for (auto& w : workers_) counters.push_back(&w->counters());
        observer_.start(eng, options_.queues, counters, *pub);  // metrics, systemd READY
        reason_budget_.set_limits(eng.drop_log_per_reason);
    }

    void stop() {
        observer_.stop();
        stop_ = true;
        for (auto& t : threads_) t.join();
        threads_.clear();
        drain_drop_log();
    }

    // Before the pid file appears, so `pbxgate reload` always finds a status beside it.
    void start_watching() {
        if (!options_.pid_file.empty()) {
            status_path_ = reload_status_path(options_.pid_file);
            status_.pid = getpid();
            status_.generation = slot_.generation();
            status_.time = unix_now();
            write_status();
        }
        if (options_.watch_quiet.count() <= 0) return;
        try {
            watcher_ = std::make_unique<file_watcher>(options_.watch_quiet);
            watch_files(slot_.current()->policy->source().files);
        } catch (const std::exception& ex) {
            spdlog::warn("cannot watch the policy files ({}): reload on SIGHUP only", ex.what());
            watcher_.reset();
        }
    }

    file_watcher* watcher() noexcept { return watcher_.get(); }

    void reload(reload_trigger trigger) {
        // One reload covers whatever the watcher was waiting to report.
        if (watcher_) watcher_->cancel();
        observer_.reloading();
        const reload_outcome r = reload_policy(options_.policy_path, slot_);
        observer_.reloaded(r.ok, *slot_.current());
        ++status_.attempts;
        if (trigger == reload_trigger::signal) ++status_.signal_attempts;
        status_.trigger = trigger;
        status_.ok = r.ok;
        status_.generation = r.generation;
        status_.time = unix_now();
        status_.summary = r.summary;
        status_.errors.clear();
        const char* why = trigger == reload_trigger::signal ? "SIGHUP" : "file change";
        if (!r.ok) {
            ++reload_failures_;
            for (const diagnostic& d : r.errors) {
                spdlog::error("{}", d.to_string());
                status_.errors.push_back(d.to_string());
            }
            spdlog::error("reload ({}) refused: {} error(s); generation {} stays in force", why, r.errors.size(),
                          r.generation);
        } else {
            ++reloads_;
            last_reload_ok_ = status_.time;
            const engine_settings& eng = slot_.current()->policy->engine();
            configure_logging(eng.log_format, eng.log_level);
            budget_.set_rate(eng.drop_log_per_second);
            reason_budget_.set_limits(eng.drop_log_per_reason);
            spdlog::info("reloaded {} ({}): generation {} in force after {:.1f} ms: {}", options_.policy_path, why,
                         r.generation, static_cast<double>(r.duration.count()) / 1000.0, r.summary);
            // Flow offload: offloaded connections are judged again by the new policy. After the
            // log line, which times the publish itself.
            offloads_revoked_ += revoke_offloads_after_reload(eng.mark_mask);
        }
        // `extends` may have changed; after a refused load the last good set still holds,
        // and the top file is always watched, so fixing it is seen.
        watch_files(r.files);
        write_status();
    }

    void drain_drop_log() {
        const auto now = std::chrono::steady_clock::now();
        const published_policy* pub = slot_.current();
        for (auto& w : workers_) {
            drop_record rec;
            while (w->drops().pop(rec)) {
                if (!reason_budget_.take(rec.why, now) || !budget_.take(now)) continue;
                // Service ids are stable across generations (compile() with the previous
                // policy), and a removed service's id keeps its name: the current policy names
                // a record of any generation.
                const std::string_view name = pub->policy->service_name(rec.service);
                spdlog::warn("{}", format_drop(rec, name));
            }
        }
        if (now - last_suppressed_report_ >= std::chrono::seconds(10)) {
            if (const auto n = budget_.take_suppressed() + reason_budget_.take_suppressed()) spdlog::warn("{} drop log lines suppressed (rate limit)", n);
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
        s.offloads_revoked = offloads_revoked_;
        s.last_reload_ok_unix = last_reload_ok_;
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
    void watch_files(std::vector<std::string> files) {
        if (!watcher_) return;
        files.push_back(options_.policy_path);
        for (const std::string& problem : watcher_->watch(files))
            spdlog::warn("{}: changes there will need a SIGHUP", problem);
        // [asterisk] import: FreePBX's Apply rewrites many files in a row; wait for the last.
        watcher_->slow_down(slot_.current()->policy->source().asterisk.files, std::chrono::milliseconds(1000));
    }

    void write_status() {
        if (status_path_.empty()) return;
        if (const std::string err = write_reload_status(status_path_, status_); !err.empty())
            spdlog::error("reload status: {}", err);
    }

    run_options options_;
    policy_slot slot_;
    std::vector<std::unique_ptr<queue_backend>> backends_;
    std::vector<std::unique_ptr<worker>> workers_;
    std::vector<std::thread> threads_;
    std::atomic<bool> stop_{false};
    line_budget budget_;
    reason_log_budget reason_budget_;
    std::chrono::steady_clock::time_point last_suppressed_report_{};
    std::uint64_t reloads_ = 0;
    std::uint64_t reload_failures_ = 0;
    std::uint64_t offloads_revoked_ = 0;
    std::int64_t last_reload_ok_ = 0;
    std::unique_ptr<file_watcher> watcher_;
    std::string status_path_;
    reload_status status_;
    engine_observer observer_;  // last: it reads the workers' counters, so it goes first
};

// Milliseconds until `when`, rounded up (a deadline is never polled as 0 ms too early),
// capped at `cap`.
int poll_timeout(std::chrono::steady_clock::time_point now, std::optional<std::chrono::steady_clock::time_point> when,
                 int cap) {
    if (!when) return cap;
    if (*when <= now) return 0;
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(*when - now).count();
    return ms < cap ? static_cast<int>(ms) : cap;
}

}  // namespace

int run_engine(const run_options& options, const backend_factory& make_backend) {
    const load_result loaded = load_policy(options.policy_path);
    if (!loaded.ok()) {
        for (const diagnostic& d : loaded.errors) spdlog::error("{}", d.to_string());
        spdlog::error("{}: {} error(s), not starting", options.policy_path, loaded.errors.size());
        return 1;
    }
    configure_logging(loaded.value->engine.log_format, loaded.value->engine.log_level);

    // Signals are taken synchronously by the main thread (signalfd); block them before
    // any thread starts so every worker inherits the mask.
    sigset_t signals;
    sigemptyset(&signals);
    for (const int s : {SIGTERM, SIGINT, SIGHUP, SIGUSR1}) sigaddset(&signals, s);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    const int signal_fd = signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC);
    if (signal_fd < 0) {
        spdlog::error("cannot start: signalfd: {}", std::strerror(errno));
        return 1;
    }
    struct fd_closer {
        int fd;
        ~fd_closer() { close(fd); }
    } signal_fd_guard{signal_fd};

    std::unique_ptr<engine> e;
    std::unique_ptr<pid_file_guard> pid;
    try {
        e = std::make_unique<engine>(options, compiled_policy::compile(*loaded.value));
        e->start(make_backend);
        e->start_watching();
        pid = std::make_unique<pid_file_guard>(options.pid_file);
    } catch (const std::exception& ex) {
        spdlog::error("cannot start: {}", ex.what());
        if (e) e->stop();
        return 1;
    }

    // One poll() over the signals, the policy files' directories and the timers (watcher
    // quiet period, statistics, drop log): a reload starts as soon as it is due, not at
    // the next tick.
    constexpr int drop_log_tick_ms = 100;
    using clock = std::chrono::steady_clock;
    std::optional<clock::time_point> next_report;
    if (options.stats_interval.count() > 0) next_report = clock::now() + options.stats_interval;
    bool running = true;
    while (running) {
        file_watcher* w = e->watcher();
        pollfd fds[2] = {{signal_fd, POLLIN, 0}, {w ? w->fd() : -1, POLLIN, 0}};
        auto now = clock::now();
        int timeout = poll_timeout(now, w ? w->deadline() : std::nullopt, drop_log_tick_ms);
        timeout = std::min(timeout, poll_timeout(now, next_report, drop_log_tick_ms));
        if (poll(fds, 2, timeout) < 0 && errno != EINTR) {
            spdlog::error("poll: {}", std::strerror(errno));
            break;
        }
        now = clock::now();
        // File events first: a SIGHUP in the same round then covers them (one reload, not two).
        if (w && (fds[1].revents & POLLIN)) w->read_events(now);
        signalfd_siginfo si;
        while (read(signal_fd, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
            const auto sig = static_cast<int>(si.ssi_signo);
            if (sig == SIGTERM || sig == SIGINT) {
                spdlog::info("{}: stopping, verdicting every queued packet first", sig == SIGTERM ? "SIGTERM" : "SIGINT");
                running = false;
            }
            if (sig == SIGHUP && running) e->reload(reload_trigger::signal);
            if (sig == SIGUSR1) e->report();
        }
        if (!running) break;
        if (w && w->take_due(now)) e->reload(reload_trigger::file);
        e->drain_drop_log();
        if (next_report && clock::now() >= *next_report) {
            e->report();
            *next_report += options.stats_interval;
        }
    }
    e->stop();
    e->report();
    return 0;
}

}  // namespace pbxgate
