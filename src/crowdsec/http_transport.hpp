// HTTP for the CrowdSec client, behind an interface: the engine ships libcurl
// (curl_transport), unit tests answer from a table.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace pbxgate::crowdsec {

struct http_request {
    std::string method = "GET";  // GET or POST
    std::string url;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;            // POST: JSON
};

struct http_response {
    int status = 0;              // 0: no answer (error says why)
    std::string body;
    std::string error;           // transport failure: refused, timeout, too large...
    bool ok() const noexcept { return error.empty() && status >= 200 && status < 300; }
};

struct http_limits {
    std::chrono::milliseconds connect_timeout{3000};
    std::chrono::milliseconds total_timeout{10000};
    std::size_t max_body = 8 * 1024 * 1024;  // a bigger answer is an error, never read whole
};

class http_transport {
public:
    virtual ~http_transport() = default;
    virtual http_response send(const http_request& req, const http_limits& limits) = 0;
    // From another thread: the call in progress, and every later one, ends at once (engine stop).
    virtual void abort() noexcept {}
};

}  // namespace pbxgate::crowdsec
