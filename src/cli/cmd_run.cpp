// pbxgate run: the inline engine on NFQUEUE.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "cli/commands.hpp"
#include "cli/load_or_report.hpp"
#include "engine/engine.hpp"
#include "reload/reload_status.hpp"

namespace pbxgate::cli {
namespace {

struct run_cli {
    run_options options;
    int queue = -1;
    std::string queues;
    std::string mode;
    std::string fail;
    unsigned stats_interval = 0;
    unsigned watch_quiet_ms = 200;
    bool check_only = false;
    bool no_strict_modes = false;
};

// "3" or "0-3" -> {0,1,2,3}; empty on a malformed or inverted range.
std::vector<std::uint16_t> parse_queue_range(const std::string& text) {
    unsigned first = 0, last = 0;
    char dash = 0, extra = 0;
    const int n = std::sscanf(text.c_str(), "%u%c%u%c", &first, &dash, &last, &extra);
    if (n == 1) last = first;
    else if (n != 3 || dash != '-') return {};
    if (first > last || last > 65535 || last - first >= 64) return {};
    std::vector<std::uint16_t> out;
    for (unsigned q = first; q <= last; ++q) out.push_back(static_cast<std::uint16_t>(q));
    return out;
}

int run(run_cli& c) {
    if (c.check_only) {
        // Everything but the kernel step, like `nft --check`.
        const auto compiled = load_or_report(c.options.policy_path);
        if (!compiled) return exit_failure;
        std::printf("%s: ok (check only: no queue opened)\n", c.options.policy_path.c_str());
        return exit_ok;
    }
    if (!c.queues.empty()) {
        c.options.queues = parse_queue_range(c.queues);
        if (c.options.queues.empty()) {
            std::fprintf(stderr, "pbxgate run: --queues '%s' is not N or FIRST-LAST (at most 64 queues, 0-65535)\n",
                         c.queues.c_str());
            return exit_usage;
        }
    } else if (c.queue >= 0) {
        c.options.queues = {static_cast<std::uint16_t>(c.queue)};
    }
    if (!c.mode.empty()) c.options.mode = c.mode == "monitor" ? engine_mode::monitor : engine_mode::enforce;
    if (!c.fail.empty()) c.options.fail = c.fail == "open" ? fail_mode::open : fail_mode::closed;
    c.options.stats_interval = std::chrono::seconds(c.stats_interval);
    c.options.watch_quiet = std::chrono::milliseconds(c.watch_quiet_ms);
    c.options.strict_modes = !c.no_strict_modes;
    return run_engine(c.options);
}

}  // namespace

void register_run_command(CLI::App& app, int& exit_code) {
    auto* cmd = app.add_subcommand("run", "judge packets from NFQUEUE (needs CAP_NET_ADMIN and the steering rules)");
    auto c = std::make_shared<run_cli>();
    cmd->add_option("--policy", c->options.policy_path, "policy file (TOML)")->required();
    auto* q = cmd->add_option("--queue", c->queue, "queue number (default 0)")->check(CLI::Range(0, 65535));
    cmd->add_option("--queues", c->queues, "queue range FIRST-LAST: one worker thread per queue")->excludes(q);
    cmd->add_option("--mode", c->mode, "enforce, or monitor (accept everything, count and log what would drop)")
        ->check(CLI::IsMember({"enforce", "monitor"}));
    cmd->add_option("--fail", c->fail, "open or closed: what happens to packets when the queue is full")
        ->check(CLI::IsMember({"open", "closed"}));
    cmd->add_option("--stats-interval", c->stats_interval, "log statistics every N seconds (0: on SIGUSR1 and at exit)");
    cmd->add_option("--stats-file", c->options.stats_file, "also write statistics as JSON to this file");
    c->options.pid_file = default_pid_file();
    cmd->add_option("--pid-file", c->options.pid_file,
                    "write the engine's pid here, and each reload's outcome beside it (X.pid -> X.reload-status), "
                    "for pbxgate reload; \"\" for none")
        ->capture_default_str();
    c->options.runtime_dir = "/run/pbxgate";
    cmd->add_option("--runtime-dir", c->options.runtime_dir,
                    "directory of the control socket (DIR/control.sock, root-only) that `pbxgate bans` talks to; "
                    "\"\" for none")
        ->capture_default_str();
    cmd->add_option("--watch-quiet", c->watch_quiet_ms,
                    "reload when the policy files changed on disk and then stayed quiet this many ms (0: SIGHUP only)")
        ->capture_default_str()
        ->check(CLI::Range(0u, 60000u));
    cmd->add_option("--user", c->options.user,
                    "after binding the queues, run as this user (keeping only CAP_NET_ADMIN); "
                    "the stats and pid files must then be writable by it");
    cmd->add_flag("--no-strict-modes", c->no_strict_modes,
                  "accept policy files (and directories above them) that users other than root or the engine's "
                  "could write; for test trees only");
    cmd->add_option("--state-dir", c->options.state_dir,
                    "directory where SIP protection state (bans, registered and known sources) is saved "
                    "and loaded at start (default /var/lib/pbxgate; \"\" keeps it in memory only)");
    cmd->add_flag("--check-only", c->check_only, "validate the policy and exit without opening anything");
    cmd->callback([c, &exit_code] { exit_code = run(*c); });
}

}  // namespace pbxgate::cli
