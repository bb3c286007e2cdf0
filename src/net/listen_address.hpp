// Where the metrics endpoint listens: "127.0.0.1:9477", "[::1]:9477", "0.0.0.0:9477".
// Parsed by the policy loader (so a typo is a policy error with FILE:LINE:COL) and again
// by the endpoint when it binds.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pbxgate {

struct listen_address {
    std::string host;        // a numeric IPv4 or IPv6 address, without brackets
    std::uint16_t port = 0;  // 0: the kernel picks one (tests)
    bool ipv6 = false;
};

// Numeric addresses only: a metrics endpoint must not depend on name resolution at boot.
// On failure returns nullopt and sets *error to a sentence naming the expected form.
std::optional<listen_address> parse_listen_address(std::string_view text, std::string* error = nullptr);

// The socket address of a parsed listen_address (for bind or connect); returns its length.
socklen_t to_sockaddr(const listen_address& at, sockaddr_storage& out) noexcept;

}  // namespace pbxgate
