#include "pbxgate/address.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace pbxgate {

ip_address ip_address::v4(std::uint32_t host_order) noexcept {
    ip_address a;
    a.family = ip_family::v4;
    a.bytes[0] = static_cast<std::uint8_t>(host_order >> 24);
    a.bytes[1] = static_cast<std::uint8_t>(host_order >> 16);
    a.bytes[2] = static_cast<std::uint8_t>(host_order >> 8);
    a.bytes[3] = static_cast<std::uint8_t>(host_order);
    return a;
}

ip_address ip_address::v6(const std::uint8_t (&net_order)[16]) noexcept {
    ip_address a;
    a.family = ip_family::v6;
    std::memcpy(a.bytes.data(), net_order, 16);
    return a;
}

std::uint32_t ip_address::v4_host() const noexcept {
    return (std::uint32_t{bytes[0]} << 24) | (std::uint32_t{bytes[1]} << 16) |
           (std::uint32_t{bytes[2]} << 8) | std::uint32_t{bytes[3]};
}

bool ip_address::is_v4_mapped() const noexcept {
    if (family != ip_family::v6) return false;
    for (int i = 0; i < 10; ++i)
        if (bytes[i] != 0) return false;
    return bytes[10] == 0xff && bytes[11] == 0xff;
}

ip_address ip_address::unmapped() const noexcept {
    if (!is_v4_mapped()) return *this;
    ip_address a;
    a.family = ip_family::v4;
    std::memcpy(a.bytes.data(), bytes.data() + 12, 4);
    return a;
}

bool ip_address::is_loopback() const noexcept {
    const ip_address a = unmapped();
    if (a.family == ip_family::v4) return a.bytes[0] == 127;
    for (int i = 0; i < 15; ++i)
        if (a.bytes[i] != 0) return false;
    return a.bytes[15] == 1;
}

bool ip_prefix::contains(const ip_address& a) const noexcept {
    if (a.family != address.family) return false;
    const unsigned full = length / 8u, rest = length % 8u;
    if (std::memcmp(a.bytes.data(), address.bytes.data(), full) != 0) return false;
    if (rest == 0) return true;
    const auto mask = static_cast<std::uint8_t>(0xffu << (8 - rest));
    return (a.bytes[full] & mask) == (address.bytes[full] & mask);
}

std::optional<ip_address> parse_address(std::string_view text) noexcept {
    char buf[INET6_ADDRSTRLEN + 1];
    if (text.empty() || text.size() >= sizeof buf) return std::nullopt;
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';
    ip_address a;
    if (text.find(':') == std::string_view::npos) {
        a.family = ip_family::v4;
        if (inet_pton(AF_INET, buf, a.bytes.data()) != 1) return std::nullopt;
    } else {
        a.family = ip_family::v6;
        if (inet_pton(AF_INET6, buf, a.bytes.data()) != 1) return std::nullopt;
    }
    return a;
}

std::optional<ip_prefix> parse_prefix(std::string_view text, std::string* error) {
    auto fail = [&](std::string why) -> std::optional<ip_prefix> {
        if (error) *error = std::move(why);
        return std::nullopt;
    };
    const auto slash = text.find('/');
    const auto addr_text = text.substr(0, slash);
    const auto addr = parse_address(addr_text);
    if (!addr) return fail("'" + std::string(addr_text) + "' is not an IPv4 or IPv6 address");
    const unsigned max_len = addr->family == ip_family::v4 ? 32 : 128;
    unsigned len = max_len;
    if (slash != std::string_view::npos) {
        const auto len_text = text.substr(slash + 1);
        const auto* end = len_text.data() + len_text.size();
        const auto [ptr, ec] = std::from_chars(len_text.data(), end, len);
        if (len_text.empty() || ec != std::errc{} || ptr != end || len > max_len)
            return fail("prefix length '" + std::string(len_text) + "' is not a number from 0 to " +
                        std::to_string(max_len));
    }
    ip_prefix p{*addr, static_cast<std::uint8_t>(len)};
    // Host bits set usually means a typo (192.168.1.1/16 for 192.168.0.0/16): refuse it
    // rather than guess, so the policy never says something other than what was meant.
    ip_prefix masked = p;
    for (unsigned bit = len; bit < max_len; ++bit)
        masked.address.bytes[bit / 8] &= static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
    if (!(masked.address == p.address))
        return fail("'" + std::string(text) + "' has host bits set; the network is " + to_string(masked));
    return p;
}

std::string to_string(const ip_address& a) {
    char buf[INET6_ADDRSTRLEN];
    const int af = a.family == ip_family::v4 ? AF_INET : AF_INET6;
    if (!inet_ntop(af, a.bytes.data(), buf, sizeof buf)) return "?";
    return buf;
}

std::string to_string(const ip_prefix& p) { return to_string(p.address) + "/" + std::to_string(p.length); }

}  // namespace pbxgate
