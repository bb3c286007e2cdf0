// http_transport over libcurl: one easy handle reused across requests (keep-alive), no
// signals (threads), connect and total timeouts, and the body cut off at the limit.
#pragma once

#include <atomic>
#include <memory>

#include "crowdsec/http_transport.hpp"

namespace pbxgate::crowdsec {

class curl_transport final : public http_transport {
public:
    curl_transport();
    ~curl_transport() override;
    curl_transport(const curl_transport&) = delete;
    curl_transport& operator=(const curl_transport&) = delete;

    http_response send(const http_request& req, const http_limits& limits) override;
    void abort() noexcept override { aborted_ = true; }

private:
    void* handle_ = nullptr;  // CURL*
    std::atomic<bool> aborted_{false};
};

}  // namespace pbxgate::crowdsec
