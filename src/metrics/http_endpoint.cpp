#include "metrics/http_endpoint.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <algorithm>
#include <chrono>
#include <cstring>
#include <optional>
#include <vector>
#include <stdexcept>

#include "metrics/prometheus_text.hpp"

namespace pbxgate {
namespace {

constexpr std::size_t max_request = 4096;
// Accept to close, whatever the client does; a scrape of a few tens of KB takes < 10 ms.
constexpr auto connection_deadline = std::chrono::milliseconds(2000);
using clock = std::chrono::steady_clock;

std::string response(const char* status, const char* content_type, const std::string& body, bool head) {
    std::string r = "HTTP/1.0 ";
    r += status;
    r += "\r\nContent-Type: ";
    r += content_type;
    r += "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
    if (!head) r += body;
    return r;
}

}  // namespace

std::string http_response_for(std::string_view request, const http_endpoint::render_fn& render) {
    const auto line_end = request.find_first_of("\r\n");
    const std::string_view line = request.substr(0, line_end);
    const auto sp1 = line.find(' ');
    const auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp1 == std::string_view::npos)
        return response("400 Bad Request", "text/plain; charset=utf-8", "bad request\n", false);
    const std::string_view method = line.substr(0, sp1);
    std::string_view target = line.substr(sp1 + 1, sp2 == std::string_view::npos ? std::string_view::npos : sp2 - sp1 - 1);
    if (const auto q = target.find('?'); q != std::string_view::npos) target = target.substr(0, q);
    const bool head = method == "HEAD";
    if (method != "GET" && !head)
        return response("405 Method Not Allowed", "text/plain; charset=utf-8", "only GET /metrics\n", false);
    if (target != "/metrics")
        return response("404 Not Found", "text/plain; charset=utf-8", "pbxgate: the metrics are at /metrics\n", head);
    return response("200 OK", prometheus_content_type, render(), head);
}

http_endpoint::http_endpoint(const listen_address& at, render_fn render) : render_(std::move(render)) {
    const int family = at.ipv6 ? AF_INET6 : AF_INET;
    listen_fd_ = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (listen_fd_ < 0) throw std::runtime_error(std::string("metrics: socket: ") + std::strerror(errno));
    const int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_storage ss{};
    socklen_t len = to_sockaddr(at, ss);
    const std::string where = (at.ipv6 ? "[" + at.host + "]" : at.host) + ":" + std::to_string(at.port);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::listen(listen_fd_, 16) != 0) {
        const std::string why = std::strerror(errno);
        ::close(listen_fd_);
        throw std::runtime_error("metrics: cannot listen on " + where + ": " + why);
    }
    if (::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&ss), &len) == 0)
        port_ = ntohs(at.ipv6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                              : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
    wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_fd_ < 0) {
        ::close(listen_fd_);
        throw std::runtime_error(std::string("metrics: eventfd: ") + std::strerror(errno));
    }
    thread_ = std::thread([this] { serve(); });
}

http_endpoint::~http_endpoint() {
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(wake_fd_, &one, sizeof one);
    if (thread_.joinable()) thread_.join();
    ::close(listen_fd_);
    ::close(wake_fd_);
}

std::uint64_t http_endpoint::served() const noexcept { return served_.load(std::memory_order_relaxed); }

struct http_endpoint::connection {
    enum class phase { reading, writing, draining };
    int fd = -1;
    clock::time_point deadline;
    phase state = phase::reading;
    std::string in;   // the request head so far
    std::string out;  // the answer
    std::size_t sent = 0;
};

void http_endpoint::serve() noexcept {
    std::vector<connection> conns;
    std::vector<pollfd> fds;
    auto close_all = [&conns] {
        for (const connection& c : conns) ::close(c.fd);
        conns.clear();
    };
    for (;;) {
        try {
            fds.clear();
            // At the connection limit the listening socket is not polled: new clients wait
            // in the backlog until a slot frees (at the latest at a deadline).
            fds.push_back({conns.size() < max_connections ? listen_fd_ : -1, POLLIN, 0});
            fds.push_back({wake_fd_, POLLIN, 0});
            auto now = clock::now();
            std::optional<clock::time_point> next_deadline;
            for (const connection& c : conns) {
                fds.push_back({c.fd, static_cast<short>(c.state == connection::phase::writing ? POLLOUT : POLLIN), 0});
                if (!next_deadline || c.deadline < *next_deadline) next_deadline = c.deadline;
            }
            int timeout = -1;
            if (next_deadline)
                timeout = *next_deadline <= now
                              ? 0
                              : static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(*next_deadline - now).count());
            if (::poll(fds.data(), fds.size(), timeout) < 0) {
                if (errno == EINTR) continue;
                spdlog::error("metrics: poll: {}", std::strerror(errno));
                close_all();
                return;
            }
            if (fds[1].revents) {
                close_all();
                return;
            }
            now = clock::now();
            // Connections first (their pollfds follow the two fixed ones, in order), then new ones.
            std::size_t kept = 0;
            for (std::size_t i = 0; i < conns.size(); ++i) {
                connection& c = conns[i];
                bool alive = true;
                if (fds[i + 2].revents) alive = advance(c);
                if (alive && now >= c.deadline) alive = false;  // too slow: hang up
                if (!alive) {
                    ::close(c.fd);
                    continue;
                }
                if (kept != i) conns[kept] = std::move(c);
                ++kept;
            }
            conns.resize(kept);
            if (fds[0].revents & POLLIN) {
                while (conns.size() < max_connections) {
                    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
                    if (fd < 0) break;  // drained, the peer gave up, or out of descriptors: later
                    connection c;
                    c.fd = fd;
                    c.deadline = now + connection_deadline;
                    // The request is usually there already: answer without another round.
                    if (advance(c)) conns.push_back(std::move(c));
                    else ::close(fd);
                }
            }
        } catch (const std::exception& ex) {
            // Out of memory for a buffer: drop every connection, keep serving.
            spdlog::error("metrics: {}", ex.what());
            close_all();
        }
    }
}

bool http_endpoint::advance(connection& c) noexcept {
    try {
        char buf[4096];
        if (c.state == connection::phase::reading) {
            // Read the request head only; the body (there should be none) is ignored.
            while (c.in.find("\r\n\r\n") == std::string::npos && c.in.find("\n\n") == std::string::npos) {
                if (c.in.size() >= max_request) {
                    c.out = response("431 Request Header Fields Too Large", "text/plain; charset=utf-8",
                                     "request too large\n", false);
                    break;
                }
                const ssize_t n = ::recv(c.fd, buf, std::min(sizeof buf, max_request - c.in.size()), 0);
                if (n < 0 && errno == EINTR) continue;
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;  // more later
                if (n <= 0) return false;  // gone before asking
                c.in.append(buf, static_cast<std::size_t>(n));
            }
            if (c.out.empty()) c.out = http_response_for(c.in, render_);
            served_.fetch_add(1, std::memory_order_relaxed);  // before sending: the client may check at once
            c.state = connection::phase::writing;
        }
        if (c.state == connection::phase::writing) {
            while (c.sent < c.out.size()) {
                const ssize_t n = ::send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0 && errno == EINTR) continue;
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;  // the client reads slowly
                if (n <= 0) return false;
                c.sent += static_cast<std::size_t>(n);
            }
            // Closing with unread input makes the kernel send a reset, which can destroy the
            // answer before the client reads it: half-close, and swallow what is left until
            // the client closes (or the deadline).
            ::shutdown(c.fd, SHUT_WR);
            c.state = connection::phase::draining;
            c.out.clear();
            c.out.shrink_to_fit();
        }
        for (;;) {
            const ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
            return n > 0;  // 0: the client closed, done
        }
    } catch (const std::exception& ex) {
        spdlog::error("metrics: {}", ex.what());
        return false;
    }
}

}  // namespace pbxgate
