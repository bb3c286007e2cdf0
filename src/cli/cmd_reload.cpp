// pbxgate reload: make the running engine reload its policy, and say whether it took.
//
// Sends SIGHUP to the pid in the pid file, then waits for the engine's reload status file
// (reload/reload_status.hpp) to record one more signal-triggered attempt, and reports it.
// Exit: 0 the new generation is in force, 1 it was refused (errors on stderr) or no answer
// came, 2 no engine is running.
#include <CLI/CLI.hpp>

#include <signal.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <thread>

#include "cli/commands.hpp"
#include "reload/reload_status.hpp"

namespace pbxgate::cli {
namespace {

constexpr int exit_reload_no_engine = 2;  // the man page: no engine to signal (no pid file, no process)

struct reload_cli {
    std::string pid_file = default_pid_file();
    double timeout_s = 10;
};

bool alive(long pid) { return kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM; }

int reload(const reload_cli& c) {
    long pid = 0;
    {
        std::ifstream f(c.pid_file);
        if (!f || !(f >> pid) || pid <= 0) {
            std::fprintf(stderr,
                         "pbxgate reload: no engine running: cannot read a pid from %s (is `pbxgate run` up? "
                         "give its --pid-file)\n",
                         c.pid_file.c_str());
            return exit_reload_no_engine;
        }
    }
    if (!alive(pid)) {
        std::fprintf(stderr, "pbxgate reload: no engine running: process %ld named by %s is gone (stale pid file)\n",
                     pid, c.pid_file.c_str());
        return exit_reload_no_engine;
    }
    const std::string status_path = reload_status_path(c.pid_file);
    // The engine writes its status before its pid file, so a missing or foreign status here
    // means it is not a pbxgate engine of this kind: signalling it would tell us nothing.
    const auto before = read_reload_status(status_path);
    if (!before || before->pid != pid) {
        std::fprintf(stderr,
                     "pbxgate reload: process %ld (from %s) has no reload status in %s: not signalled (not a "
                     "pbxgate engine, or one started with another --pid-file?)\n",
                     pid, c.pid_file.c_str(), status_path.c_str());
        return exit_failure;
    }
    if (kill(static_cast<pid_t>(pid), SIGHUP) != 0) {
        std::fprintf(stderr, "pbxgate reload: cannot signal process %ld: %s\n", pid, std::strerror(errno));
        return errno == ESRCH ? exit_reload_no_engine : exit_failure;
    }
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::duration<double>(c.timeout_s);
    for (;;) {
        const auto now = read_reload_status(status_path);
        if (now && now->pid == pid && now->signal_attempts > before->signal_attempts) {
            if (now->ok) {
                for (const std::string& k : now->kept) std::fprintf(stderr, "pbxgate reload: %s\n", k.c_str());
                std::printf("reloaded: generation %llu in force (was %llu): %s\n",
                            static_cast<unsigned long long>(now->generation),
                            static_cast<unsigned long long>(before->generation), now->summary.c_str());
                return exit_ok;
            }
            for (const std::string& e : now->errors) std::fprintf(stderr, "%s\n", e.c_str());
            std::fprintf(stderr, "pbxgate reload: refused: %zu error(s); generation %llu stays in force\n",
                         now->errors.size(), static_cast<unsigned long long>(now->generation));
            return exit_failure;
        }
        if (!alive(pid)) {
            std::fprintf(stderr, "pbxgate reload: engine %ld exited before answering\n", pid);
            return exit_reload_no_engine;
        }
        if (std::chrono::steady_clock::now() >= give_up) {
            std::fprintf(stderr, "pbxgate reload: engine %ld did not answer within %.1f s (status file %s)\n", pid,
                         c.timeout_s, status_path.c_str());
            return exit_failure;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

}  // namespace

void register_reload_command(CLI::App& app, int& exit_code) {
    auto* cmd = app.add_subcommand(
        "reload", "make the running engine reload its policy; exit 0 applied, 1 refused (errors shown), 2 no engine");
    auto c = std::make_shared<reload_cli>();
    cmd->add_option("--pid-file", c->pid_file, "the engine's pid file (as given to pbxgate run)")->capture_default_str();
    cmd->add_option("--timeout", c->timeout_s, "seconds to wait for the engine's answer")
        ->capture_default_str()
        ->check(CLI::Range(0.1, 600.0));
    cmd->callback([c, &exit_code] { exit_code = reload(*c); });
}

}  // namespace pbxgate::cli
