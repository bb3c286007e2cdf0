#include "net/listen_address.hpp"

#include <arpa/inet.h>

#include <charconv>

namespace pbxgate {

std::optional<listen_address> parse_listen_address(std::string_view text, std::string* error) {
    auto fail = [&](const std::string& why) -> std::optional<listen_address> {
        if (error) *error = "'" + std::string(text) + "' " + why + " (expected ADDRESS:PORT, e.g. \"127.0.0.1:9477\" or \"[::1]:9477\")";
        return std::nullopt;
    };
    listen_address out;
    std::string_view port_text;
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
            return fail("has no closing ']' followed by ':PORT'");
        out.host = std::string(text.substr(1, close - 1));
        out.ipv6 = true;
        port_text = text.substr(close + 2);
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string_view::npos) return fail("has no ':PORT'");
        out.host = std::string(text.substr(0, colon));
        if (out.host.find(':') != std::string::npos) return fail("is an IPv6 address without brackets");
        port_text = text.substr(colon + 1);
    }
    unsigned port = 0;
    const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (port_text.empty() || ec != std::errc{} || end != port_text.data() + port_text.size() || port > 65535)
        return fail("has no port number 0-65535");
    out.port = static_cast<std::uint16_t>(port);
    unsigned char buf[16];
    if (inet_pton(out.ipv6 ? AF_INET6 : AF_INET, out.host.c_str(), buf) != 1)
        return fail("is not a numeric " + std::string(out.ipv6 ? "IPv6" : "IPv4") + " address");
    return out;
}

socklen_t to_sockaddr(const listen_address& at, sockaddr_storage& out) noexcept {
    out = {};
    if (at.ipv6) {
        auto* a = reinterpret_cast<sockaddr_in6*>(&out);
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(at.port);
        inet_pton(AF_INET6, at.host.c_str(), &a->sin6_addr);
        return sizeof *a;
    }
    auto* a = reinterpret_cast<sockaddr_in*>(&out);
    a->sin_family = AF_INET;
    a->sin_port = htons(at.port);
    inet_pton(AF_INET, at.host.c_str(), &a->sin_addr);
    return sizeof *a;
}

}  // namespace pbxgate
