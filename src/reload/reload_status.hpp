// How `pbxgate reload` learns what the running engine did with its SIGHUP.
//
// The engine writes a small status file next to its pid file (/run/pbxgate.pid ->
// /run/pbxgate.reload-status) at start and after every reload attempt, atomically
// (write a temporary file, rename it over). `pbxgate reload` reads the count of
// signal-triggered attempts, sends SIGHUP, and waits until the count moves; the file then
// holds that attempt's outcome: the generation in force, and the errors when refused.
// A file rather than a control socket: nothing to listen on in the engine, the same
// permissions as the pid file, and an admin can `cat` it.
//
// Format: one "key value" per line (values run to the end of the line), "error" repeated:
//   pid 4242
//   attempts 7
//   signal_attempts 3
//   trigger signal
//   ok 0
//   generation 5
//   time 1795844400
//   summary sip moved 5060/udp -> 5160/udp; mark_mask 0x00f00000 -> 0x0f000000 (needs a restart)
//   kept mark_mask changed: needs a restart; keeping 0x00f00000
//   error site.toml:4:9: error: port 70000 is out of range 1-65535
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pbxgate {

enum class reload_trigger : std::uint8_t { start, signal, file };

struct reload_status {
    long pid = 0;
    std::uint64_t attempts = 0;         // reload attempts since the engine started
    std::uint64_t signal_attempts = 0;  // of which triggered by SIGHUP
    reload_trigger trigger = reload_trigger::start;  // what caused the last attempt
    bool ok = true;                     // the last attempt's outcome
    std::uint64_t generation = 0;       // the generation in force after it
    std::int64_t time = 0;              // when (Unix seconds)
    std::string summary;                // what changed, when ok
    std::vector<std::string> errors;    // FILE:LINE:COL lines, when refused
    std::vector<std::string> kept;      // restart-only keys changed but not applied, when ok
};

std::string format_reload_status(const reload_status& s);
// nullopt when the text is not a status file (missing keys, bad numbers).
std::optional<reload_status> parse_reload_status(const std::string& text);

// Atomic replace, never through a symlink (util/atomic_file.hpp); returns an error
// message, empty on success.
std::string write_reload_status(const std::string& path, const reload_status& s);
std::optional<reload_status> read_reload_status(const std::string& path);

// The status file beside a pid file: "X.pid" -> "X.reload-status", else "X.reload-status".
std::string reload_status_path(const std::string& pid_file);
// Where `run` writes its pid unless told otherwise, and where `reload` looks for it:
// /run/pbxgate.pid as root, else $XDG_RUNTIME_DIR/pbxgate.pid, else /tmp/pbxgate-UID.pid.
std::string default_pid_file();

}  // namespace pbxgate
