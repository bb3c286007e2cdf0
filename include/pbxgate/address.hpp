// IP addresses and prefixes as the policy and the classifier see them.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pbxgate {

enum class ip_family : std::uint8_t { v4 = 4, v6 = 6 };

// An IPv4 or IPv6 address in network byte order. IPv4 uses bytes[0..3]; the rest is zero,
// so two addresses compare equal exactly when family and bytes match.
struct ip_address {
    ip_family family = ip_family::v4;
    std::array<std::uint8_t, 16> bytes{};

    static ip_address v4(std::uint32_t host_order) noexcept;
    static ip_address v6(const std::uint8_t (&net_order)[16]) noexcept;

    // The IPv4 address in host byte order (meaningful only when family == v4).
    std::uint32_t v4_host() const noexcept;
    // 127.0.0.0/8, ::1, or ::ffff:127.0.0.0/104.
    bool is_loopback() const noexcept;
    // ::ffff:a.b.c.d
    bool is_v4_mapped() const noexcept;
    // ::ffff:a.b.c.d becomes a.b.c.d; anything else is returned unchanged. A mapped source
    // on the wire must not dodge an IPv4 blocklist.
    ip_address unmapped() const noexcept;

    friend bool operator==(const ip_address&, const ip_address&) = default;
};

struct ip_prefix {
    ip_address address;     // host bits are zero
    std::uint8_t length = 0;  // 0..32 or 0..128

    bool contains(const ip_address& a) const noexcept;
    friend bool operator==(const ip_prefix&, const ip_prefix&) = default;
};

// "192.0.2.1", "2001:db8::1". No brackets, no zone index.
std::optional<ip_address> parse_address(std::string_view text) noexcept;

// "192.0.2.0/24", "2001:db8::/32", or a bare address (a host prefix). On failure returns
// nullopt and, when `error` is given, says why in words an admin can act on (a prefix
// with host bits set is refused, not silently masked).
std::optional<ip_prefix> parse_prefix(std::string_view text, std::string* error = nullptr);

std::string to_string(const ip_address& a);
std::string to_string(const ip_prefix& p);

}  // namespace pbxgate
