#include "metrics/http_endpoint.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
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
#include <stdexcept>

#include "metrics/prometheus_text.hpp"

namespace pbxgate {
namespace {

constexpr std::size_t max_request = 4096;
constexpr int request_timeout_ms = 2000;

std::string response(const char* status, const char* content_type, const std::string& body, bool head) {
    std::string r = "HTTP/1.0 ";
    r += status;
    r += "\r\nContent-Type: ";
    r += content_type;
    r += "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
    if (!head) r += body;
    return r;
}

bool send_all(int fd, std::string_view data) noexcept {
    while (!data.empty()) {
        const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

// Closing with unread input makes the kernel send a reset, which can destroy the answer
// before the client reads it: half-close, then swallow a bounded amount of what is left.
void discard_rest(int fd) noexcept {
    ::shutdown(fd, SHUT_WR);
    char sink[4096];
    for (int i = 0; i < 64; ++i) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) return;
        const ssize_t n = ::recv(fd, sink, sizeof sink, 0);
        if (n <= 0 && !(n < 0 && errno == EINTR)) return;
    }
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

void http_endpoint::serve() noexcept {
    for (;;) {
        pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            spdlog::error("metrics: poll: {}", std::strerror(errno));
            return;
        }
        if (fds[1].revents) return;
        if (!(fds[0].revents & POLLIN)) continue;
        const int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (client < 0) continue;  // the peer gave up, or out of descriptors: try again later
        answer(client);
        ::close(client);
    }
}

void http_endpoint::answer(int client) noexcept {
    try {
        std::string request;
        char buf[1024];
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(request_timeout_ms);
        // Read the request head only; the body (there should be none) is ignored.
        while (request.find("\r\n\r\n") == std::string::npos && request.find("\n\n") == std::string::npos) {
            if (request.size() >= max_request) {
                served_.fetch_add(1, std::memory_order_relaxed);
                send_all(client, response("431 Request Header Fields Too Large", "text/plain; charset=utf-8",
                                          "request too large\n", false));
                discard_rest(client);
                return;
            }
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) return;  // too slow: hang up
            pollfd p{client, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
            const ssize_t n = ::recv(client, buf, std::min(sizeof buf, max_request - request.size()), 0);
            if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
            if (n <= 0) return;
            request.append(buf, static_cast<std::size_t>(n));
        }
        // The answer is small (tens of KB); a blocking send with a timeout is simplest.
        const int flags = ::fcntl(client, F_GETFL);
        ::fcntl(client, F_SETFL, flags & ~O_NONBLOCK);
        const timeval tv{request_timeout_ms / 1000, 0};
        ::setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        const std::string answer = http_response_for(request, render_);
        served_.fetch_add(1, std::memory_order_relaxed);  // before sending: the client may check at once
        send_all(client, answer);
    } catch (const std::exception& ex) {
        spdlog::error("metrics: {}", ex.what());
    }
}

}  // namespace pbxgate
