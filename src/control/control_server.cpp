#include "control/control_server.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace pbxgate::control {
namespace {

std::runtime_error error(const std::string& what) {
    return std::runtime_error(what + ": " + std::strerror(errno));
}

sockaddr_un address_of(const std::string& path) {
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    if (path.size() >= sizeof a.sun_path)
        throw std::runtime_error("control socket path too long (at most " + std::to_string(sizeof a.sun_path - 1) +
                                 " bytes): " + path);
    std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
    return a;
}

// True when an engine answers on `path` (a live socket must not be taken over).
bool someone_listens(const sockaddr_un& a) {
    const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    const bool live = connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0;
    close(fd);
    return live;
}

bool peer_allowed(int fd) {
    ucred cred{};
    socklen_t len = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return false;
    return cred.uid == 0 || cred.uid == geteuid();
}

}  // namespace

std::string socket_path(const std::string& runtime_dir) {
    std::string dir = runtime_dir;
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    return dir + "/control.sock";
}

control_server::control_server(const std::string& runtime_dir, const command_registry& commands, server_limits limits)
    : commands_(commands), limits_(limits), path_(socket_path(runtime_dir)) {
    const sockaddr_un a = address_of(path_);
    if (mkdir(runtime_dir.c_str(), 0700) != 0 && errno != EEXIST)
        throw error("cannot create the runtime directory " + runtime_dir);
    struct stat st {};
    if (lstat(path_.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) throw std::runtime_error(path_ + " exists and is not a socket: not replacing it");
        if (someone_listens(a))
            throw std::runtime_error("another engine answers on " + path_ +
                                     " (give each engine its own --runtime-dir)");
        unlink(path_.c_str());  // stale: its engine is gone
    }
    listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0) throw error("control socket");
    // Created 0600 (no window with a wider mode); umask is process-wide, and no other
    // thread runs yet when the engine starts this.
    const mode_t old = umask(0177);
    const int rc = bind(listen_fd_, reinterpret_cast<const sockaddr*>(&a), sizeof a);
    umask(old);
    if (rc != 0 || listen(listen_fd_, 16) != 0 || lstat(path_.c_str(), &st) != 0) {
        const auto ex = error("cannot listen on " + path_);
        close(listen_fd_);
        throw ex;
    }
    dev_ = st.st_dev;
    ino_ = st.st_ino;
}

control_server::~control_server() {
    for (client& c : clients_) close(c.fd);
    close(listen_fd_);
    // Only our own file: a later engine may have replaced a socket it found stale. After
    // the privilege drop this fails in a directory we may no longer write (another owner,
    // --user): the file is then stale, and the next engine replaces it.
    struct stat st {};
    if (lstat(path_.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_) unlink(path_.c_str());
}

void control_server::add_poll_fds(std::vector<pollfd>& fds) const {
    fds.push_back({listen_fd_, POLLIN, 0});
    for (const client& c : clients_) {
        const auto events = static_cast<short>(c.out.empty() ? POLLIN : POLLOUT);
        fds.push_back({c.fd, events, 0});
    }
}

std::optional<control_server::clock::time_point> control_server::deadline() const {
    std::optional<clock::time_point> d;
    for (const client& c : clients_)
        if (!d || c.deadline < *d) d = c.deadline;
    return d;
}

void control_server::accept_clients(clock::time_point now) {
    for (int i = 0; i < 16; ++i) {  // a bounded batch per round; the rest wait in the backlog
        const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return;
        auto refuse = [fd](const std::string& why) {
            const std::string line = error_line(why) + "\n";
            [[maybe_unused]] const ssize_t n = send(fd, line.data(), line.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
            close(fd);
        };
        if (!peer_allowed(fd)) {
            refuse("permission denied: the control socket serves root and the engine's user only");
            continue;
        }
        if (clients_.size() >= limits_.max_clients) {
            refuse("busy: too many control clients at once, try again");
            continue;
        }
        clients_.push_back(client{fd, {}, {}, false, now + limits_.client_timeout});
    }
}

bool control_server::read_from(client& c, clock::time_point now) {
    char buf[4096];
    for (;;) {
        const ssize_t n = recv(c.fd, buf, sizeof buf, 0);
        if (n == 0) {
            // The client is done sending: a last request without its newline still counts.
            if (!c.in.empty()) c.out += commands_.answer(c.in) + "\n";
            c.in.clear();
            c.closing = true;
            return !c.out.empty();
        }
        if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
        c.deadline = now + limits_.client_timeout;
        c.in.append(buf, static_cast<std::size_t>(n));
        std::size_t start = 0;
        for (std::size_t nl; (nl = c.in.find('\n', start)) != std::string::npos; start = nl + 1) {
            std::string_view line(c.in.data() + start, nl - start);
            if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
            if (!line.empty()) c.out += commands_.answer(line) + "\n";
        }
        c.in.erase(0, start);
        if (c.in.size() > max_request_bytes) {
            // Do not buffer an endless line: answer once and hang up.
            c.out += error_line("request too long (at most " + std::to_string(max_request_bytes) + " bytes)") + "\n";
            c.in.clear();
            c.closing = true;
            return true;
        }
        if (static_cast<std::size_t>(n) < sizeof buf) return true;
    }
}

bool control_server::write_to(client& c, clock::time_point now) {
    while (!c.out.empty()) {
        const ssize_t n = send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
        c.out.erase(0, static_cast<std::size_t>(n));
        c.deadline = now + limits_.client_timeout;
    }
    return !c.closing;
}

void control_server::service(const std::vector<pollfd>& fds, clock::time_point now) {
    for (const pollfd& p : fds)
        if (p.fd == listen_fd_ && (p.revents & POLLIN)) accept_clients(now);
    std::vector<client> kept;
    kept.reserve(clients_.size());
    for (client& c : clients_) {
        short revents = 0;
        for (const pollfd& p : fds)
            if (p.fd == c.fd) revents = p.revents;
        bool alive = true;
        if (revents & (POLLERR | POLLNVAL)) alive = false;
        if (alive && (revents & (POLLIN | POLLHUP)) && c.out.empty()) alive = read_from(c, now);
        if (alive && !c.out.empty()) alive = write_to(c, now);
        if (alive && now >= c.deadline) alive = false;  // silent or stuck: its slot goes to others
        if (alive) kept.push_back(std::move(c));
        else close(c.fd);
    }
    clients_ = std::move(kept);
}

}  // namespace pbxgate::control
