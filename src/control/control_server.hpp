// The engine's control socket: a unix stream socket in the runtime directory
// (DIR/control.sock, mode 0600, the directory 0700 when we create it), answering one JSON
// line per request line through a command_registry. Served by the engine's main loop, off
// the packet path: the caller polls fds() and calls service(). Non-blocking throughout: a
// slow or silent client costs one slot until its deadline, never a stall of the loop.
// Only root and the engine's own user are served (SO_PEERCRED), whatever the file mode.
#pragma once

#include <poll.h>
#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "control/control_commands.hpp"

namespace pbxgate::control {

struct server_limits {
    std::size_t max_clients = 16;
    std::chrono::milliseconds client_timeout{5000};  // from the last progress of a client
};

// DIR/control.sock: where the engine listens and `pbxgate bans` connects.
std::string socket_path(const std::string& runtime_dir);

class control_server {
public:
    using clock = std::chrono::steady_clock;

    // Creates `runtime_dir` (0700) when missing and binds the socket there. A stale socket
    // file (no one listening) is replaced; a live one is not. Throws std::runtime_error
    // with a message an admin can act on.
    control_server(const std::string& runtime_dir, const command_registry& commands, server_limits limits = {});
    ~control_server();
    control_server(const control_server&) = delete;
    control_server& operator=(const control_server&) = delete;

    // Appends the descriptors to poll (the listener, and each client for input or output).
    void add_poll_fds(std::vector<pollfd>& fds) const;
    // Handles the events poll() reported for the descriptors add_poll_fds() appended
    // (`fds` may hold others too), and drops clients past their deadline.
    void service(const std::vector<pollfd>& fds, clock::time_point now);
    // The earliest client deadline, for the poll timeout.
    std::optional<clock::time_point> deadline() const;

    const std::string& path() const noexcept { return path_; }
    std::size_t clients() const noexcept { return clients_.size(); }

private:
    struct client {
        int fd = -1;
        std::string in;
        std::string out;
        bool closing = false;  // close once `out` is written
        clock::time_point deadline;
    };
    void accept_clients(clock::time_point now);
    // false when the client is done (closed, failed, or finished writing a last answer).
    bool read_from(client& c, clock::time_point now);
    bool write_to(client& c, clock::time_point now);

    const command_registry& commands_;
    server_limits limits_;
    std::string path_;
    int listen_fd_ = -1;
    dev_t dev_ = 0;  // the socket file we bound, so we unlink only our own
    ino_t ino_ = 0;
    std::vector<client> clients_;
};

}  // namespace pbxgate::control
