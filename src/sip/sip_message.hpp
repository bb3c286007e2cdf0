// A read-only view of one SIP message (a request or a response) as the packet path needs it
// to judge the sender: the start line and the few headers that tell who, what, and whether
// credentials were offered. Every string_view points into the caller's bytes. Parsing is
// bounded by the input length and a header count, allocates nothing and never throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace pbxgate::sip {

enum class method : std::uint8_t {
    unknown = 0, invite, ack, bye, cancel, register_, options, subscribe, notify, refer, info,
    message, update, prack, publish,
};
inline constexpr unsigned method_count = 15;
std::string_view to_string(method m) noexcept;
method method_from_token(std::string_view token) noexcept;  // case-sensitive, as RFC 3261 says

enum class parse_status : std::uint8_t {
    ok = 0,
    keepalive,       // only CR/LF bytes (RFC 5626 keepalive): not a message, not malformed
    empty,
    not_sip,         // the first line is neither a request line nor a status line
    bad_header,      // a header line without a colon before the end of the headers
    too_many_headers,
};
std::string_view to_string(parse_status s) noexcept;

// From / To: `"Alice" <sip:alice@example.com>;tag=abc`, or a bare URI.
struct name_addr {
    std::string_view display;  // without quotes; empty when absent
    std::string_view uri;      // the URI without angle brackets and without header params
    std::string_view user;     // the user part of the URI (before '@'), empty when none
    std::string_view tag;      // the tag parameter, empty when absent
};

struct message_view {
    bool is_request = false;
    // Request line
    method request_method = method::unknown;
    std::string_view method_token;  // as written (an unknown method keeps its name here)
    std::string_view request_uri;
    // Status line
    std::uint16_t status = 0;       // 100..699 for a response
    std::string_view reason_phrase;
    // Headers (first occurrence; empty / -1 when absent). What the packet path reads for
    // every request is split here; To and the Contact's parameters, which it needs only for
    // some responses, are kept whole and split on demand (to(), contact_expires()).
    std::string_view via_branch;    // branch of the topmost Via
    name_addr from;
    std::string_view to_header;     // the whole first To value
    std::string_view call_id;
    std::uint32_t cseq = 0;
    method cseq_method = method::unknown;
    std::string_view user_agent;    // User-Agent (requests) - Server is kept apart
    std::string_view server;
    std::string_view contact;       // the whole first Contact value
    std::int64_t expires = -1;          // Expires header
    bool has_authorization = false;
    bool has_proxy_authorization = false;
    std::int64_t content_length = -1;
    std::string_view content_type;  // Content-Type / c, first occurrence ("application/sdp")
    // The body: from after the empty line, bounded by Content-Length and the bytes given
    // (a datagram cut by the capture length keeps what it has). Empty when there is none.
    std::string_view body;
    std::uint16_t header_count = 0;
    bool headers_complete = false;  // the empty line ending the headers was seen

    bool has_credentials() const noexcept { return has_authorization || has_proxy_authorization; }
    name_addr to() const noexcept;                 // To, split
    std::int64_t contact_expires() const noexcept;  // ;expires= of the first Contact, -1 when none
    // The expiry a registrar granted: the Contact's expires parameter, else Expires, else -1.
    std::int64_t granted_expiry() const noexcept {
        const std::int64_t c = contact_expires();
        return c >= 0 ? c : expires;
    }
};

inline constexpr std::uint16_t max_headers = 128;

// Parse `len` bytes at `data`. On anything but ok the view holds what was read so far.
parse_status parse_message(const std::uint8_t* data, std::size_t len, message_view& out) noexcept;
inline parse_status parse_message(std::string_view text, message_view& out) noexcept {
    return parse_message(reinterpret_cast<const std::uint8_t*>(text.data()), text.size(), out);
}

// Does the payload begin like a SIP message (a method token and " sip:"/" sips:"/" tel:", or
// "SIP/2.0 ")? Cheap; used to tell a TCP segment that starts a message from a continuation.
bool starts_message(const std::uint8_t* data, std::size_t len) noexcept;


}  // namespace pbxgate::sip
