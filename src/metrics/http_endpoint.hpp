// A deliberately tiny HTTP/1.0 server for Prometheus scrapes: one listening socket, one
// thread, one poll() over every open connection (at most max_connections at once). GET
// /metrics answers with render(); anything else is 404 (405 for methods other than
// GET/HEAD). Every socket is non-blocking and every connection has a total deadline (2 s
// from accept, request, answer and close included), and the request head is bounded (4 KiB):
// a client that is slow to send, or never reads its answer, holds one connection slot until
// its deadline, never the thread, so other scrapes are answered meanwhile. The thread only
// calls render(), which must be safe to call from it (the engine's reads relaxed atomics).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>

#include "net/listen_address.hpp"

namespace pbxgate {

class http_endpoint {
public:
    using render_fn = std::function<std::string()>;

    // Binds and listens before returning (throws std::runtime_error saying why it could
    // not), then serves on its own thread until destroyed.
    http_endpoint(const listen_address& at, render_fn render);
    ~http_endpoint();
    http_endpoint(const http_endpoint&) = delete;
    http_endpoint& operator=(const http_endpoint&) = delete;

    std::uint16_t port() const noexcept { return port_; }  // the bound port (useful with port 0)
    std::uint64_t served() const noexcept;                  // requests answered, any status

    static constexpr std::size_t max_connections = 32;

private:
    struct connection;
    void serve() noexcept;
    // Advances one connection as far as its socket allows; false when it is finished.
    bool advance(connection& c) noexcept;

    render_fn render_;
    int listen_fd_ = -1;
    int wake_fd_ = -1;  // eventfd: the destructor's stop signal
    std::uint16_t port_ = 0;
    std::atomic<std::uint64_t> served_{0};
    std::thread thread_;
};

// The response to one request's text (what the server sends back), exposed for tests.
std::string http_response_for(std::string_view request, const http_endpoint::render_fn& render);

}  // namespace pbxgate
