// A read-only view of an SDP body (RFC 4566/8866) as far as media pinholes need it: the
// connection addresses (session and media level), each m= line's kind, port and transport,
// the RTCP port (a=rtcp:, a=rtcp-mux), the direction attributes and bundling. Parsing is
// bounded by the input and a stream count, allocates nothing and never throws; malformed
// lines are skipped (an SDP the engine half-understands must not fail a call's signalling).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "pbxgate/address.hpp"

namespace pbxgate::sip {

enum class media_kind : std::uint8_t { other = 0, audio, video, image, application, text };
std::string_view to_string(media_kind k) noexcept;

enum class media_direction : std::uint8_t { sendrecv = 0, sendonly, recvonly, inactive };
std::string_view to_string(media_direction d) noexcept;

struct sdp_stream {
    media_kind kind = media_kind::other;
    std::uint16_t port = 0;          // 0: the stream is disabled (rejected or removed)
    std::string_view transport;      // "RTP/AVP", "RTP/SAVP", "udptl", "UDP/TLS/RTP/SAVPF"...
    bool has_address = false;        // the stream's effective c= (media level, else session level)
    ip_address address;
    bool address_unspecified = false;  // c= 0.0.0.0 or :: (the old way to put a call on hold)
    std::uint16_t rtcp_port = 0;     // a=rtcp: port; 0 when absent
    bool rtcp_mux = false;           // a=rtcp-mux: RTCP shares the RTP port
    bool bundle_only = false;        // a=bundle-only: port 0 here, media on the bundle's port
    media_direction direction = media_direction::sendrecv;  // media level, else session level
    std::string_view mid;            // a=mid:

    // The RTCP port: a=rtcp:, else the RTP port itself under rtcp-mux, else port + 1.
    std::uint16_t effective_rtcp_port() const noexcept {
        if (rtcp_port != 0) return rtcp_port;
        if (rtcp_mux || port == 0xffff) return port;
        return static_cast<std::uint16_t>(port + 1);
    }
    // Carries packets: a port, and not a=inactive.
    bool active() const noexcept { return port != 0 && direction != media_direction::inactive; }
};

inline constexpr std::size_t max_sdp_streams = 8;

enum class sdp_status : std::uint8_t {
    ok = 0,
    empty,
    not_sdp,  // the first line is not v=
};
std::string_view to_string(sdp_status s) noexcept;

struct sdp_view {
    bool has_session_address = false;
    ip_address session_address;
    media_direction session_direction = media_direction::sendrecv;
    bool bundle = false;              // a=group:BUNDLE
    std::array<sdp_stream, max_sdp_streams> streams{};
    std::uint8_t stream_count = 0;
    bool too_many_streams = false;    // m= lines past max_sdp_streams were ignored
    std::uint16_t skipped_lines = 0;  // lines that were not `x=value`, or values not understood
};

sdp_status parse_sdp(std::string_view body, sdp_view& out) noexcept;

// Is this Content-Type SDP ("application/sdp", any case, parameters allowed)?
bool is_sdp_content_type(std::string_view content_type) noexcept;

}  // namespace pbxgate::sip
