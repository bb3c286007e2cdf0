#include "control/control_client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "control/control_server.hpp"

namespace pbxgate::control {
namespace {

struct fd_guard {
    int fd;
    ~fd_guard() {
        if (fd >= 0) close(fd);
    }
};

}  // namespace

call_result call(const std::string& runtime_dir, const std::string& request_line, std::chrono::milliseconds timeout) {
    using clock = std::chrono::steady_clock;
    const auto deadline = clock::now() + timeout;
    call_result r;
    const std::string path = socket_path(runtime_dir);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    if (path.size() >= sizeof a.sun_path) {
        r.error = "control socket path too long: " + path;
        return r;
    }
    std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
    fd_guard s{socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    if (s.fd < 0) {
        r.error = std::string("socket: ") + std::strerror(errno);
        return r;
    }
    if (connect(s.fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
        if (errno == ENOENT || errno == ECONNREFUSED || errno == ENOTDIR) {
            r.status = call_status::no_engine;
            r.error = "no engine running (no control socket answers at " + path + ")";
        } else if (errno == EACCES || errno == EPERM) {
            r.error = "permission denied on " + path + ": the control socket is root-only";
        } else {
            r.error = "cannot connect to " + path + ": " + std::strerror(errno);
        }
        return r;
    }
    auto wait = [&](short events) {
        for (;;) {
            const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - clock::now()).count();
            if (left <= 0) return false;
            pollfd p{s.fd, events, 0};
            const int n = poll(&p, 1, static_cast<int>(left));
            if (n > 0) return true;
            if (n < 0 && errno != EINTR) return false;
        }
    };
    const std::string line = request_line + "\n";
    std::string send_error;
    for (std::size_t sent = 0; sent < line.size();) {
        if (!wait(POLLOUT)) {
            r.error = "timed out sending the request to " + path;
            return r;
        }
        const ssize_t n = send(s.fd, line.data() + sent, line.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
            // The engine may have refused us and hung up (permission, busy): its answer
            // is waiting to be read, and says more than EPIPE.
            send_error = std::string("sending the request: ") + std::strerror(errno);
            break;
        }
        if (n > 0) sent += static_cast<std::size_t>(n);
    }
    char buf[65536];
    std::size_t scanned = 0;  // the answer so far holds no newline before this
    for (;;) {
        if (const auto nl = r.answer.find('\n', scanned); nl != std::string::npos) {
            r.answer.resize(nl);
            r.status = call_status::answered;
            return r;
        }
        if (r.answer.size() > max_answer_bytes) {
            r.error = "the engine's answer is too long";
            return r;
        }
        if (!wait(POLLIN)) {
            r.error = "timed out waiting for the engine's answer on " + path;
            return r;
        }
        const ssize_t n = recv(s.fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n == 0) {
            r.error = send_error.empty() ? "the engine closed the connection without an answer" : send_error;
            return r;
        }
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) continue;
            r.error = send_error.empty() ? std::string("reading the answer: ") + std::strerror(errno) : send_error;
            return r;
        }
        scanned = r.answer.size();
        r.answer.append(buf, static_cast<std::size_t>(n));
    }
}

}  // namespace pbxgate::control
