// The vocabulary of a decision: verdicts, zones and the named reasons behind them.
// Reasons are logged, counted and shown by `explain`; their names are part of the
// JSON output contract, so rename none of them.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace pbxgate {

enum class verdict : std::uint8_t { accept, drop };

// Zones in increasing precedence for a source address: an address in both lan and
// trusted is trusted; blocked wins over everything, including localhost.
enum class zone : std::uint8_t { internet = 0, lan = 1, trusted = 2, localhost = 3, blocked = 4 };
inline constexpr unsigned zone_count = 5;

// A set of zones as a bit mask, bit i for zone i. Only internet..localhost can be allowed.
using zone_set = std::uint8_t;
constexpr zone_set zone_bit(zone z) noexcept { return static_cast<zone_set>(1u << static_cast<unsigned>(z)); }
inline constexpr zone_set all_allowable_zones =
    zone_bit(zone::internet) | zone_bit(zone::lan) | zone_bit(zone::trusted) | zone_bit(zone::localhost);

enum class reason : std::uint8_t {
    // accepted
    allowed,               // a service claims the port and allows the source zone
    icmp_allowed,          // ICMP/ICMPv6 the IP stack needs (errors, PMTUD, NDP) or an allowed echo
    fragment_follows,      // non-first fragment: it has no ports; the first fragment is judged
    not_protected,         // router placement: the destination is not a protected address
    // dropped
    blocked,               // the source is in the blocked zone
    zone_not_allowed,      // a service claims the port but does not allow the source zone
    no_service,            // no service claims the port: the engine's default verdict applies
    icmp_denied,           // ICMP type not needed by the stack (redirect, timestamp, ...)
    unsupported_protocol,  // not TCP, UDP or ICMP (SCTP, GRE, ESP, IP-in-IP...): default verdict
    malformed,             // truncated or inconsistent headers (see packet_view::error)
    // SIP protection (appended: the numbering above is unchanged)
    banned,                // the source is banned (any ban reason); dropped before the port policy
    scanner,               // a request naming a known scanner: dropped, the source banned
    request_rate,          // the request that crossed a request-rate tier: dropped, the source banned
    auth_failures,         // the PBX's answer that completed an auth-failure ban (accepted: a response)
    // Media pinholes (appended)
    pinhole,               // negotiated media: the packet belongs to a pinhole its call's SDP opened
    media_signalling_peer, // negotiated media from a peer holding a TLS/WSS signalling connection
    no_pinhole,            // negotiated media: no pinhole for this PBX port and source: dropped
};
inline constexpr unsigned reason_count = 17;

std::string_view to_string(verdict v) noexcept;
std::string_view to_string(zone z) noexcept;
std::string_view to_string(reason r) noexcept;
std::optional<zone> zone_from_string(std::string_view s) noexcept;
std::optional<verdict> verdict_from_string(std::string_view s) noexcept;

// Service id 0 means "no service"; ids 1..255 index compiled_policy's services.
using service_id = std::uint8_t;
inline constexpr service_id no_service_id = 0;

struct decision {
    verdict action = verdict::drop;
    reason why = reason::no_service;
    zone from = zone::internet;
    service_id service = no_service_id;
};

}  // namespace pbxgate
