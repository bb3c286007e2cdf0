// The inline engine's lifecycle: load the policy, bind the queues, run one worker per
// queue, and on the main thread handle signals, reloads, the drop log and statistics.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pbxgate/policy.hpp"
#include "queue/queue_backend.hpp"

namespace pbxgate::protect {
class ban_admin;
}

namespace pbxgate {

struct run_options {
    std::string policy_path;
    std::vector<std::uint16_t> queues{0};
    std::optional<engine_mode> mode;       // overrides [engine] mode
    std::optional<fail_mode> fail;         // overrides [engine] fail
    std::chrono::seconds stats_interval{0};  // 0: only on SIGUSR1 and at exit
    std::string stats_file;                // JSON status written at each report
    std::string pid_file;                  // empty: none (then `pbxgate reload` cannot reach us)
    // Where the control socket goes (DIR/control.sock, for `pbxgate bans`); empty: none.
    std::string runtime_dir;
    // Reload when the policy files have been quiet this long after a change on disk;
    // 0: do not watch the files (SIGHUP only).
    std::chrono::milliseconds watch_quiet{200};
    // Once the queues are bound: keep CAP_NET_ADMIN only, set no_new_privs, and become
    // `user` when given (engine/privileges.hpp). Off for in-process tests with fake backends.
    bool drop_privileges = true;
    std::string user;
    // Refuse policy files (and directories above them) that someone other than root or the
    // engine's user could write (reload/strict_modes.hpp), at start and at every reload.
    bool strict_modes = true;
    // SIP protection state (bans, registered and known sources) is saved here and loaded at
    // start; empty: not saved.
    std::string state_dir = "/var/lib/pbxgate";
};

// Makes the backend for one queue. Throws (with a message an admin can act on) when the
// queue cannot be bound. The real one binds an NFQUEUE queue; tests inject fakes.
using backend_factory =
    std::function<std::unique_ptr<queue_backend>(std::uint16_t queue, const engine_settings& engine, fail_mode fail)>;
backend_factory nfqueue_backend_factory();

// Runs until SIGTERM/SIGINT. Reloads on SIGHUP and when a policy file changes; writes the
// outcome of each attempt beside the pid file (reload/reload_status.hpp). Returns the
// process exit code.
int run_engine(const run_options& options, const backend_factory& make_backend = nfqueue_backend_factory());

}  // namespace pbxgate
