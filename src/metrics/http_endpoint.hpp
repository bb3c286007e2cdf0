// A deliberately tiny HTTP/1.0 server for Prometheus scrapes: one listening socket, one
// thread, one connection at a time. GET /metrics answers with render(); anything else is
// 404 (405 for methods other than GET/HEAD). Requests are bounded in size (4 KiB) and time
// (2 s), so a slow or hostile client cannot hold the thread for long. The thread only calls
// render(), which must be safe to call from it (the engine's reads relaxed atomics).
#pragma once

#include <atomic>
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

private:
    void serve() noexcept;
    void answer(int client) noexcept;

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
