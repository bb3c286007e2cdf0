// A one-shot HTTP/1.0 GET, for `pbxgate stats` reading the engine's metrics endpoint.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "net/listen_address.hpp"

namespace pbxgate {

struct http_get_result {
    int status = 0;     // 0 when no HTTP answer came
    std::string body;
    std::string error;  // set when status is 0
};

// Bounded in time (timeout for connect, send and each read) and size (16 MiB).
http_get_result http_get(const listen_address& at, const std::string& path,
                         std::chrono::milliseconds timeout = std::chrono::milliseconds(3000));

}  // namespace pbxgate
