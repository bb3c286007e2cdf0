#include "sip/sdp.hpp"

#include "sip/text.hpp"

namespace pbxgate::sip {
namespace {

using detail::iequals;
using detail::istarts_with;
using detail::trim;

// The next space-separated field of `s` (consumed).
std::string_view next_field(std::string_view& s) noexcept {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    std::size_t i = 0;
    while (i < s.size() && s[i] != ' ' && s[i] != '\t') ++i;
    const std::string_view f = s.substr(0, i);
    s.remove_prefix(i);
    return f;
}

// A decimal port 0..65535 (the whole field); -1 otherwise.
int parse_port(std::string_view s) noexcept {
    if (s.empty() || s.size() > 5) return -1;
    int v = 0;
    for (const char c : s) {
        if (c < '0' || c > '9') return -1;
        v = v * 10 + (c - '0');
    }
    return v <= 0xffff ? v : -1;
}

// c=IN IP4 192.0.2.1 | c=IN IP6 2001:db8::1 | c=IN IP4 233.252.0.1/127 (multicast TTL)
bool parse_connection(std::string_view value, ip_address& addr, bool& unspecified) noexcept {
    const std::string_view nettype = next_field(value);
    const std::string_view addrtype = next_field(value);
    std::string_view text = next_field(value);
    if (!iequals(nettype, "IN")) return false;
    const std::size_t slash = text.find('/');
    if (slash != std::string_view::npos) text = text.substr(0, slash);
    const auto a = parse_address(text);
    if (!a) return false;
    if (iequals(addrtype, "IP4") ? a->family != ip_family::v4 : !iequals(addrtype, "IP6") || a->family != ip_family::v6)
        return false;
    addr = *a;
    unspecified = true;
    for (const std::uint8_t b : a->bytes) unspecified = unspecified && b == 0;
    return true;
}

media_kind kind_of(std::string_view token) noexcept {
    if (token == "audio") return media_kind::audio;
    if (token == "video") return media_kind::video;
    if (token == "image") return media_kind::image;
    if (token == "application") return media_kind::application;
    if (token == "text") return media_kind::text;
    return media_kind::other;
}

bool direction_of(std::string_view attr, media_direction& d) noexcept {
    if (attr == "sendrecv") d = media_direction::sendrecv;
    else if (attr == "sendonly") d = media_direction::sendonly;
    else if (attr == "recvonly") d = media_direction::recvonly;
    else if (attr == "inactive") d = media_direction::inactive;
    else return false;
    return true;
}

}  // namespace

std::string_view to_string(media_kind k) noexcept {
    switch (k) {
        case media_kind::audio: return "audio";
        case media_kind::video: return "video";
        case media_kind::image: return "image";
        case media_kind::application: return "application";
        case media_kind::text: return "text";
        case media_kind::other: break;
    }
    return "other";
}

std::string_view to_string(media_direction d) noexcept {
    switch (d) {
        case media_direction::sendrecv: return "sendrecv";
        case media_direction::sendonly: return "sendonly";
        case media_direction::recvonly: return "recvonly";
        case media_direction::inactive: return "inactive";
    }
    return "?";
}

std::string_view to_string(sdp_status s) noexcept {
    switch (s) {
        case sdp_status::ok: return "ok";
        case sdp_status::empty: return "empty";
        case sdp_status::not_sdp: return "not_sdp";
    }
    return "?";
}

bool is_sdp_content_type(std::string_view ct) noexcept {
    ct = trim(ct);
    if (!istarts_with(ct, "application/sdp")) return false;
    if (ct.size() == 15) return true;
    const char next = ct[15];
    return next == ';' || next == ' ' || next == '\t';
}

sdp_status parse_sdp(std::string_view body, sdp_view& out) noexcept {
    out = sdp_view{};
    while (!body.empty() && (body.front() == '\r' || body.front() == '\n' || body.front() == ' ')) body.remove_prefix(1);
    if (body.empty()) return sdp_status::empty;
    if (!istarts_with(body, "v=")) return sdp_status::not_sdp;
    // Session-level values apply to every stream that does not set its own; they are
    // written before the first m=, so a stream's own values are merged when it ends.
    sdp_stream* cur = nullptr;
    bool cur_has_dir = false;
    const auto finish = [&] {
        if (cur == nullptr) return;
        if (!cur->has_address && out.has_session_address) {
            cur->has_address = true;
            cur->address = out.session_address;
            bool unspecified = true;
            for (const std::uint8_t b : out.session_address.bytes) unspecified = unspecified && b == 0;
            cur->address_unspecified = unspecified;
        }
        if (!cur_has_dir) cur->direction = out.session_direction;
    };
    bool ignoring = false;  // inside an m= section past max_sdp_streams
    while (!body.empty()) {
        const std::size_t nl = body.find('\n');
        std::string_view line = body.substr(0, nl);
        body.remove_prefix(nl == std::string_view::npos ? body.size() : nl + 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty()) continue;
        if (line.size() < 2 || line[1] != '=') {
            ++out.skipped_lines;
            continue;
        }
        const char type = line[0];
        const std::string_view value = line.substr(2);
        if (type == 'm') {
            finish();
            cur = nullptr;
            cur_has_dir = false;
            if (out.stream_count >= max_sdp_streams) {
                out.too_many_streams = true;
                ignoring = true;
                continue;
            }
            ignoring = false;
            std::string_view rest = value;
            const std::string_view media = next_field(rest);
            std::string_view port_text = next_field(rest);
            const std::size_t slash = port_text.find('/');  // "49170/2": a port count
            if (slash != std::string_view::npos) port_text = port_text.substr(0, slash);
            const int port = parse_port(port_text);
            const std::string_view transport = next_field(rest);
            if (media.empty() || port < 0 || transport.empty()) {
                ++out.skipped_lines;
                ignoring = true;  // its attributes belong to no stream we keep
                continue;
            }
            cur = &out.streams[out.stream_count++];
            cur->kind = kind_of(media);
            cur->port = static_cast<std::uint16_t>(port);
            cur->transport = transport;
            continue;
        }
        if (ignoring) continue;
        if (type == 'c') {
            ip_address a;
            bool unspecified = false;
            if (!parse_connection(value, a, unspecified)) {
                ++out.skipped_lines;
                continue;
            }
            if (cur != nullptr) {
                cur->has_address = true;
                cur->address = a;
                cur->address_unspecified = unspecified;
            } else {
                out.has_session_address = true;
                out.session_address = a;
            }
            continue;
        }
        if (type != 'a') continue;
        const std::size_t colon = value.find(':');
        const std::string_view name = value.substr(0, colon);
        const std::string_view arg = colon == std::string_view::npos ? std::string_view{} : value.substr(colon + 1);
        media_direction d{};
        if (direction_of(name, d)) {
            if (cur != nullptr) {
                cur->direction = d;
                cur_has_dir = true;
            } else {
                out.session_direction = d;
            }
        } else if (name == "group") {
            if (istarts_with(arg, "BUNDLE")) out.bundle = true;
        } else if (cur == nullptr) {
            continue;
        } else if (name == "rtcp") {
            // a=rtcp:53020 [IN IP4 192.0.2.1]: the port only (RTCP comes from the same peer).
            std::string_view rest = arg;
            const int p = parse_port(next_field(rest));
            if (p > 0) cur->rtcp_port = static_cast<std::uint16_t>(p);
            else ++out.skipped_lines;
        } else if (name == "rtcp-mux") {
            cur->rtcp_mux = true;
        } else if (name == "bundle-only") {
            cur->bundle_only = true;
        } else if (name == "mid") {
            cur->mid = trim(arg);
        }
    }
    finish();
    return sdp_status::ok;
}

}  // namespace pbxgate::sip
