#include "engine/engine.hpp"

#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <cstdlib>
#include <thread>

#include "control/ban_commands.hpp"
#include "control/control_server.hpp"
#include "datapath/drop_log.hpp"
#include "engine/engine_observer.hpp"
#include "engine/kernel_prefilter.hpp"
#include "kernelset/ipset_backend.hpp"
#include "engine/log_setup.hpp"
#include "engine/media_keeper.hpp"
#include "engine/reason_log_budget.hpp"
#include "engine/privileges.hpp"
#include "metrics/stats_report.hpp"
#include "datapath/worker.hpp"
#include "offload/conntrack_revoker.hpp"
#include "protect/ban_admin.hpp"
#include "queue/kernel_queue_stats.hpp"
#include "queue/nfqueue_backend.hpp"
#include "reload/file_watcher.hpp"
#include "reload/policy_slot.hpp"
#include "reload/reload_status.hpp"
#include "reload/reloader.hpp"
#include "reload/strict_modes.hpp"
#include "util/atomic_file.hpp"
#include "util/clock.hpp"
#include "util/token_bucket.hpp"

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
        s.overflow_accept = engine.overflow == overflow_mode::accept;
        s.burst = worker::max_burst;
        return std::make_unique<nfqueue_backend>(s);
    };
}

namespace {

long pid_in_file(const std::string& path) {
    const auto text = read_small_file(path);  // a symlink planted there names no one
    return text ? std::strtol(text->c_str(), nullptr, 10) : 0;
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
        if (const std::string err = replace_file(path_, std::to_string(getpid()) + "\n"); !err.empty())
            throw std::runtime_error("pid file: " + err);
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

// Whose files the engine trusts besides root's: the user it runs as (or will, with --user).
uid_t engine_uid(const std::string& user) {
    if (user.empty()) return geteuid();
    std::vector<char> buf(16384);
    passwd pw{};
    passwd* found = nullptr;
    if (getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found) == 0 && found) return found->pw_uid;
    return geteuid();  // unknown user: drop_privileges() refuses to start with a clear message
}

file_reader policy_reader(const run_options& o) {
    return o.strict_modes ? strict_modes_reader(engine_uid(o.user)) : filesystem_reader();
}

class engine {
public:
    engine(const run_options& o, std::unique_ptr<const compiled_policy> initial, file_reader read)
        : options_(o), read_(std::move(read)), slot_(std::move(initial)), budget_(slot_.current()->policy->engine().drop_log_per_second) {
        control::register_ban_commands(
            commands_, [this]() -> protect::ban_admin* { return guard_.get(); }, unix_seconds);
    }

    void start(const backend_factory& make_backend) {
        const published_policy* pub = slot_.current();
        const engine_settings& eng = pub->policy->engine();
        const fail_mode fail = options_.fail.value_or(eng.fail);
        for (const std::uint16_t q : options_.queues) backends_.push_back(make_backend(q, eng, fail));
        open_control_socket();  // as root, before the user switch: /run is root's
        prepare_state_dir();
        if (options_.drop_privileges) {
            drop_privileges(options_.user);  // before any thread: caps are per thread
            const privilege_state p = current_privileges();
            spdlog::info("privileges dropped: uid {}, gid {}, capabilities effective {:#x} permitted {:#x}, no_new_privs {}",
                         p.uid, p.gid, p.effective, p.permitted, p.no_new_privs ? "on" : "off");
        }
        // The SIP protection table outlives policy reloads (its capacity is read once, here).
        const sip_settings& sip = pub->policy->source().sip;
        guard_ = std::make_unique<protect::sip_guard>(sip.capacity, sip.ipv4_prefix, sip.ipv6_prefix);
        load_sip_state();
        // Media pinholes: like the SIP table, sized once here and kept across reloads.
        media_ = std::make_unique<media_keeper>(pub->policy->source().media.capacity);
        media_->register_commands(commands_, [this] { return slot_.current()->policy.get(); });
        worker_settings ws;
        ws.mode = options_.mode;
        ws.guard = guard_.get();
        ws.pinholes = &media_->table();
        for (auto& b : backends_) workers_.push_back(std::make_unique<worker>(*b, slot_, ws));
        // A drained packet gets what the admin chose for "engine unavailable".
        const verdict drain_verdict = fail == fail_mode::open ? verdict::accept : verdict::drop;
        overflow_accept_ = eng.overflow == overflow_mode::accept;
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
        prefilter_.apply_blocked(pub->policy->source(), options_.mode.value_or(eng.mode) == engine_mode::monitor);
        prefilter_.set_ban_source(guard_.get());
        observer_.set_sip_source([this] { return sip_snapshot(); });
        observer_.start(eng, options_.queues, counters, *pub);  // metrics, systemd READY
        reason_budget_.set_limits(eng.drop_log_per_reason);
    }

    void stop() {
        observer_.stop();
        stop_ = true;
        for (auto& t : threads_) t.join();
        threads_.clear();
        drain_drop_log();
        save_sip_state();
    }

    // Summed over the workers (relaxed reads) plus a scan of the source table: metrics thread.
    sip_metrics sip_snapshot() const {
        sip_metrics m;
        if (!guard_) return m;
        m.present = true;
        constexpr auto r = std::memory_order_relaxed;
        for (const auto& w : workers_) {
            const protect::sip_counters& c = w->sip_counters();
            for (unsigned i = 0; i < m.requests.size(); ++i)
                for (unsigned z = 0; z < m.requests[i].size(); ++z) m.requests[i][z] += c.requests[i][z].load(r);
            for (unsigned i = 0; i < m.responses.size(); ++i) m.responses[i] += c.responses[i].load(r);
            for (unsigned i = 0; i < m.bans.size(); ++i) m.bans[i] += c.bans[i].load(r);
            m.malformed += c.malformed_sip.load(r);
            m.connection_attempts += c.connection_attempts.load(r);
            m.retransmissions += c.retransmissions.load(r);
            m.keepalives += c.keepalives.load(r);
        }
        const auto g = guard_->count(protect::sip_guard::monotonic_now());
        m.banned = g.banned;
        m.registered = g.registered;
        m.known = g.known;
        m.tracked = g.tracked;
        m.evictions = guard_->evictions();
        m.untracked = guard_->untracked();
        return m;
    }

    // The admin side of the ban table (control socket, kernel set sync): control thread only.
    protect::ban_admin* bans() noexcept { return guard_.get(); }

    std::string sip_state_path() const {
        return options_.state_dir.empty() ? std::string() : options_.state_dir + "/sip-state";
    }

    void load_sip_state() {
        const std::string path = sip_state_path();
        if (path.empty() || !guard_) return;
        const std::string err = guard_->load(path, unix_seconds());
        if (!err.empty()) spdlog::warn("SIP state {}: {}", path, err);
        else spdlog::info("SIP state loaded from {}", path);
    }

    // Called at stop and once a minute: a crash loses at most a minute of bans.
    // Created here, as root and before the user switch (the unit's StateDirectory= does it
    // too): 0700, owned by the engine's user, so bans survive a restart without a manual mkdir.
    void prepare_state_dir() {
        if (options_.state_dir.empty() || mkdir(options_.state_dir.c_str(), 0700) != 0) return;  // exists, or error at save
        const uid_t uid = engine_uid(options_.user);
        if (uid != geteuid() && chown(options_.state_dir.c_str(), uid, static_cast<gid_t>(-1)) != 0)
            spdlog::warn("state directory {}: cannot hand it to uid {}: {}", options_.state_dir, uid, std::strerror(errno));
    }

    void save_sip_state() {
        const std::string path = sip_state_path();
        if (path.empty() || !guard_) return;
        if (const std::string err = guard_->save(path, unix_seconds()); !err.empty())
            spdlog::error("SIP state: {}", err);
    }

    // Before the pid file appears, so `pbxgate reload` always finds a status beside it.
    void start_watching() {
        if (!options_.pid_file.empty()) {
            status_path_ = reload_status_path(options_.pid_file);
            status_.pid = getpid();
            status_.generation = slot_.generation();
            status_.time = unix_seconds();
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
    control::control_server* control() noexcept { return control_.get(); }

    void reload(reload_trigger trigger) {
        // One reload covers whatever the watcher was waiting to report.
        if (watcher_) watcher_->cancel();
        observer_.reloading();
        const reload_outcome r = reload_policy(options_.policy_path, slot_, read_);
        observer_.reloaded(r.ok, *slot_.current());
        ++status_.attempts;
        if (trigger == reload_trigger::signal) ++status_.signal_attempts;
        status_.trigger = trigger;
        status_.ok = r.ok;
        status_.generation = r.generation;
        status_.time = unix_seconds();
        status_.summary = r.summary;
        status_.errors.clear();
        status_.kept = r.kept;
        const char* why = trigger == reload_trigger::signal ? "SIGHUP" : "file change";
        if (!r.ok) {
            for (const diagnostic& d : r.errors) {
                spdlog::error("{}", d.to_string());
                status_.errors.push_back(d.to_string());
            }
            spdlog::error("reload ({}) refused: {} error(s); generation {} stays in force", why, r.errors.size(),
                          r.generation);
        } else {
            for (const std::string& line : r.kept) spdlog::warn("{}", line);
            const engine_settings& eng = slot_.current()->policy->engine();
            configure_logging(eng.log_format, eng.log_level);
            budget_.set_rate(eng.drop_log_per_second);
            reason_budget_.set_limits(eng.drop_log_per_reason);
            spdlog::info("reloaded {} ({}): generation {} in force after {:.1f} ms: {}", options_.policy_path, why,
                         r.generation, static_cast<double>(r.duration.count()) / 1000.0, r.summary);
            // Flow offload: offloaded connections are judged again by the new policy. After the
            // log line, which times the publish itself.
            offloads_revoked_ += revoke_offloads_after_reload(eng.mark_mask);
            prefilter_.apply_blocked(slot_.current()->policy->source(),
                                     options_.mode.value_or(eng.mode) == engine_mode::monitor);
        }
        // `extends` may have changed; after a refused load the last good set still holds,
        // and the top file is always watched, so fixing it is seen.
        watch_files(r.files);
        write_status();
    }

    void drain_drop_log() {
        const auto now = std::chrono::steady_clock::now();
        const published_policy* pub = slot_.current();
        for (std::size_t i = 0; i < workers_.size(); ++i) {
            drop_record rec;
            while (workers_[i]->drops().pop(rec)) {
                if (rec.kind == record_kind::queue_overrun) {  // the worker sends at most one a second
                    spdlog::warn("nfqueue {}: socket receive buffer overran (ENOBUFS, {} so far): the kernel could not "
                                 "queue some packets and {} them; verdict faster or raise queue_maxlen",
                                 options_.queues[i], rec.overruns, overflow_accept_ ? "accepted" : "dropped");
                    continue;
                }
                if (rec.kind == record_kind::ban) {  // one line per ban, never rate-limited away
                    spdlog::warn("{}", format_ban(rec.ban));
                    continue;
                }
                if (!reason_budget_.take(rec.why, now) || !budget_.take(now)) continue;
                // Service ids are stable across generations (compile() with the previous
                // policy), and a removed service's id keeps its name: the current policy names
                // a record of any generation.
                const std::string_view name = pub->policy->service_name(rec.service);
                std::string line = format_drop(rec, name);
                if (media_) {
                    // "(no_pinhole: from X, expected Y for the call Call-ID Z)": a NAT problem at a glance.
                    if (const std::string note = media_->drop_note(rec, *pub->policy); !note.empty())
                        line.insert(line.size() - 1, ": " + note);
                }
                spdlog::warn("{}", line);
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
        observer_.copy_reload_counts(s);
        s.offloads_revoked = offloads_revoked_;
        s.queues = options_.queues;
        if (auto k = read_kernel_queue_stats()) s.kernel = std::move(*k);
        add_prefilter_drops(s, prefilter_.dropped_packets(), prefilter_.dropped_bytes());
        for (const std::string& line : format_status_lines(s, *pub->policy)) spdlog::info("{}", line);
        if (!options_.stats_file.empty()) {
            if (const std::string err = replace_file(options_.stats_file, format_status_json(s, *pub->policy) + "\n");
                !err.empty())
                spdlog::error("stats file: {}", err);
        }
    }

    // Main loop timer: ban sync and the pre-filter's counters (off the packet path).
    void tick() {
        if (media_) media_->tick(*slot_.current()->policy);
        prefilter_.tick(std::chrono::steady_clock::now(), unix_seconds());
        observer_.set_prefilter_dropped(prefilter_.dropped_packets(), prefilter_.dropped_bytes());
    }

private:
    // The admin's way in (`pbxgate bans`). Without it the engine still filters: a warning,
    // not a refusal to start.
    void open_control_socket() {
        if (options_.runtime_dir.empty()) return;
        try {
            control_ = std::make_unique<control::control_server>(options_.runtime_dir, commands_);
            spdlog::info("control socket {}", control_->path());
        } catch (const std::exception& ex) {
            spdlog::warn("no control socket ({}): `pbxgate bans` cannot reach this engine", ex.what());
        }
    }

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
    file_reader read_;
    policy_slot slot_;
    std::vector<std::unique_ptr<queue_backend>> backends_;
    std::vector<std::unique_ptr<worker>> workers_;
    std::vector<std::thread> threads_;
    std::atomic<bool> stop_{false};
    bool overflow_accept_ = false;  // what the kernel does with packets the queue cannot take
    token_bucket budget_;  // drop log lines per second, after the per-reason limits
    reason_log_budget reason_budget_;
    std::chrono::steady_clock::time_point last_suppressed_report_{};
    std::uint64_t offloads_revoked_ = 0;
    std::unique_ptr<file_watcher> watcher_;
    std::string status_path_;
    reload_status status_;
    // What the control socket answers: bans.* here; another module adds its commands
    // ("media.explain"...) to this registry in the constructor.
    control::command_registry commands_;
    std::unique_ptr<control::control_server> control_;
    kernel_prefilter prefilter_{std::make_unique<kernelset::ipset_backend>()};
    std::unique_ptr<protect::sip_guard> guard_;  // before observer_: outlives the workers' readers
    std::unique_ptr<media_keeper> media_;        // the same
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
    const file_reader policy_files = policy_reader(options);
    const load_result loaded = load_policy(options.policy_path, policy_files);
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
        e = std::make_unique<engine>(options, compiled_policy::compile(*loaded.value), policy_files);
        e->start(make_backend);
        e->start_watching();
        pid = std::make_unique<pid_file_guard>(options.pid_file);
    } catch (const std::exception& ex) {
        spdlog::error("cannot start: {}", ex.what());
        if (e) e->stop();
        return 1;
    }

    // One poll() over the signals, the policy files' directories, the control socket and
    // the timers (watcher quiet period, statistics, drop log, control clients): a reload
    // starts as soon as it is due, not at the next tick.
    constexpr int drop_log_tick_ms = 100;
    using clock = std::chrono::steady_clock;
    std::optional<clock::time_point> next_report;
    if (options.stats_interval.count() > 0) next_report = clock::now() + options.stats_interval;
    clock::time_point next_state_save = clock::now() + std::chrono::seconds(60);
    bool running = true;
    std::vector<pollfd> fds;
    while (running) {
        file_watcher* w = e->watcher();
        control::control_server* ctl = e->control();
        fds.assign({{signal_fd, POLLIN, 0}, {w ? w->fd() : -1, POLLIN, 0}});
        if (ctl) ctl->add_poll_fds(fds);
        auto now = clock::now();
        int timeout = poll_timeout(now, w ? w->deadline() : std::nullopt, drop_log_tick_ms);
        timeout = std::min(timeout, poll_timeout(now, next_report, drop_log_tick_ms));
        if (ctl) timeout = std::min(timeout, poll_timeout(now, ctl->deadline(), drop_log_tick_ms));
        if (poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR) {
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
        if (ctl) ctl->service(fds, now);
        e->drain_drop_log();
        e->tick();
        if (clock::now() >= next_state_save) {
            e->save_sip_state();
            next_state_save = clock::now() + std::chrono::seconds(60);
        }
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
