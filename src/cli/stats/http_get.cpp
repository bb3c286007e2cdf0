#include "cli/stats/http_get.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace pbxgate {

http_get_result http_get(const listen_address& at, const std::string& path, std::chrono::milliseconds timeout) {
    http_get_result r;
    const std::string where = (at.ipv6 ? "[" + at.host + "]" : at.host) + ":" + std::to_string(at.port);
    const int fd = ::socket(at.ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        r.error = std::string("socket: ") + std::strerror(errno);
        return r;
    }
    const timeval tv{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_storage ss{};
    const socklen_t len = to_sockaddr(at, ss);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
        r.error = "cannot connect to " + where + ": " + std::strerror(errno);
        ::close(fd);
        return r;
    }
    const std::string request = "GET " + path + " HTTP/1.0\r\nHost: " + where + "\r\n\r\n";
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
        r.error = "cannot send to " + where + ": " + std::strerror(errno);
        ::close(fd);
        return r;
    }
    std::string response;
    char buf[8192];
    constexpr std::size_t max_response = 16u << 20;
    for (;;) {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            r.error = "no answer from " + where + ": " + std::strerror(errno);
            ::close(fd);
            return r;
        }
        if (n == 0) break;
        response.append(buf, static_cast<std::size_t>(n));
        if (response.size() > max_response) {
            r.error = "the answer from " + where + " is larger than 16 MiB";
            ::close(fd);
            return r;
        }
    }
    ::close(fd);
    const auto head_end = response.find("\r\n\r\n");
    if (response.rfind("HTTP/1.", 0) != 0 || head_end == std::string::npos || response.size() < 12) {
        r.error = where + " did not answer in HTTP";
        return r;
    }
    r.status = std::atoi(response.c_str() + 9);
    r.body = response.substr(head_end + 4);
    return r;
}

}  // namespace pbxgate
