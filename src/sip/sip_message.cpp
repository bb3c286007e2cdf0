#include "sip/sip_message.hpp"

#include <array>
#include <cstring>

namespace pbxgate::sip {
namespace {

constexpr std::array<std::string_view, method_count> method_names{
    "", "INVITE", "ACK", "BYE", "CANCEL", "REGISTER", "OPTIONS", "SUBSCRIBE", "NOTIFY", "REFER",
    "INFO", "MESSAGE", "UPDATE", "PRACK", "PUBLISH"};

constexpr char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

inline bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const char x = a[i], y = b[i];
        if (x == y) continue;
        // Equal but for case: they differ in bit 0x20 only, and are letters.
        if ((x ^ y) != 0x20) return false;
        const char l = static_cast<char>(x | 0x20);
        if (l < 'a' || l > 'z') return false;
    }
    return true;
}

bool istarts_with(std::string_view s, std::string_view prefix) noexcept {
    return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

constexpr bool is_ws(char c) noexcept { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && is_ws(s.front())) s.remove_prefix(1);
    while (!s.empty() && (is_ws(s.back()) || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

// RFC 3261 token characters.
constexpr bool is_token_char(char c) noexcept {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    switch (c) {
        case '-': case '.': case '!': case '%': case '*': case '_': case '+': case '`': case '\'': case '~':
            return true;
        default:
            return false;
    }
}

// Leading decimal digits, saturating at 2^32-1; -1 when there are none.
std::int64_t parse_number(std::string_view s) noexcept {
    s = trim(s);
    std::size_t i = 0;
    std::int64_t v = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
        v = v * 10 + (s[i] - '0');
        if (v > 0xffffffffLL) v = 0xffffffffLL;
        ++i;
    }
    return i == 0 ? -1 : v;
}

// The value of `;name=` among parameters (case-insensitive name), up to ; , or whitespace.
std::string_view find_param(std::string_view params, std::string_view name) noexcept {
    std::size_t pos = 0;
    while ((pos = params.find(';', pos)) != std::string_view::npos) {
        ++pos;
        while (pos < params.size() && is_ws(params[pos])) ++pos;
        if (params.size() - pos > name.size() && iequals(params.substr(pos, name.size()), name)) {
            std::size_t at = pos + name.size();
            while (at < params.size() && is_ws(params[at])) ++at;
            if (at < params.size() && params[at] == '=') {
                ++at;
                while (at < params.size() && is_ws(params[at])) ++at;
                std::size_t end = at;
                while (end < params.size() && params[end] != ';' && params[end] != ',' && !is_ws(params[end])) ++end;
                return params.substr(at, end - at);
            }
        }
    }
    return {};
}

std::string_view uri_user(std::string_view uri) noexcept {
    const std::size_t colon = uri.find(':');
    if (colon == std::string_view::npos) return {};
    std::string_view rest = uri.substr(colon + 1);
    const std::size_t at = rest.find('@');
    if (at != std::string_view::npos) return rest.substr(0, at);
    if (istarts_with(uri, "tel:")) {
        const std::size_t semi = rest.find(';');
        return rest.substr(0, semi);
    }
    return {};
}

// Splits a name-addr / addr-spec into display name, URI and the parameters that follow.
std::string_view split_name_addr(std::string_view v, name_addr& out) noexcept {
    v = trim(v);
    std::size_t search_from = 0;
    if (!v.empty() && v.front() == '"') {
        std::size_t i = 1;
        while (i < v.size() && v[i] != '"') i += (v[i] == '\\' && i + 1 < v.size()) ? 2 : 1;
        out.display = v.substr(1, (i < v.size() ? i : v.size()) - 1);
        search_from = i < v.size() ? i + 1 : v.size();
    }
    const std::size_t lt = v.find('<', search_from);
    if (lt != std::string_view::npos) {
        if (out.display.empty()) out.display = trim(v.substr(0, lt));
        const std::size_t gt = v.find('>', lt);
        const std::size_t end = gt == std::string_view::npos ? v.size() : gt;
        out.uri = v.substr(lt + 1, end - lt - 1);
        out.user = uri_user(out.uri);
        return gt == std::string_view::npos ? std::string_view{} : v.substr(gt + 1);
    }
    const std::string_view spec = v.substr(search_from);
    const std::size_t semi = spec.find(';');
    out.uri = trim(spec.substr(0, semi));
    out.user = uri_user(out.uri);
    return semi == std::string_view::npos ? std::string_view{} : spec.substr(semi);
}

void parse_name_addr(std::string_view v, name_addr& out) noexcept {
    const std::string_view params = split_name_addr(v, out);
    out.tag = find_param(params, "tag");
}

// The header kinds we read; everything else is skipped.
enum class hdr : std::uint8_t { other, via, from, to, call_id, cseq, user_agent, server, contact, expires,
                                authorization, proxy_authorization, content_length, content_type };

hdr classify_header(std::string_view name) noexcept {
    if (name.empty()) return hdr::other;
    // Most headers we skip (Allow, Max-Forwards, Supported...) fail on the first letter.
    switch (lower(name[0])) {
        case 'v': case 'f': case 't': case 'i': case 'm': case 'l': case 'c': case 'u': case 's': case 'e':
        case 'a': case 'p':
            break;
        default:
            return hdr::other;
    }
    if (name.size() == 1) {
        switch (lower(name[0])) {
            case 'v': return hdr::via;
            case 'f': return hdr::from;
            case 't': return hdr::to;
            case 'i': return hdr::call_id;
            case 'm': return hdr::contact;
            case 'l': return hdr::content_length;
            case 'c': return hdr::content_type;
            default: return hdr::other;
        }
    }
    switch (name.size()) {
        case 2: return iequals(name, "to") ? hdr::to : hdr::other;
        case 3: return iequals(name, "via") ? hdr::via : hdr::other;
        case 4: return iequals(name, "from") ? hdr::from : (iequals(name, "cseq") ? hdr::cseq : hdr::other);
        case 6: return iequals(name, "server") ? hdr::server : hdr::other;
        case 7:
            if (iequals(name, "call-id")) return hdr::call_id;
            if (iequals(name, "contact")) return hdr::contact;
            if (iequals(name, "expires")) return hdr::expires;
            return hdr::other;
        case 10: return iequals(name, "user-agent") ? hdr::user_agent : hdr::other;
        case 12: return iequals(name, "content-type") ? hdr::content_type : hdr::other;
        case 13: return iequals(name, "authorization") ? hdr::authorization : hdr::other;
        case 14: return iequals(name, "content-length") ? hdr::content_length : hdr::other;
        case 19: return iequals(name, "proxy-authorization") ? hdr::proxy_authorization : hdr::other;
        default: return hdr::other;
    }
}

void apply_header(hdr kind, std::string_view value, message_view& m) noexcept {
    switch (kind) {
        case hdr::via:
            if (m.via_branch.empty()) {
                const std::string_view first = value.substr(0, value.find(','));
                m.via_branch = find_param(first, "branch");
            }
            break;
        case hdr::from:
            if (m.from.uri.empty()) parse_name_addr(value, m.from);
            break;
        case hdr::to:
            if (m.to.uri.empty()) parse_name_addr(value, m.to);
            break;
        case hdr::call_id:
            if (m.call_id.empty()) m.call_id = value;
            break;
        case hdr::cseq:
            if (m.cseq == 0) {
                const std::int64_t n = parse_number(value);
                if (n > 0) m.cseq = static_cast<std::uint32_t>(n);
                std::size_t i = 0;
                while (i < value.size() && value[i] >= '0' && value[i] <= '9') ++i;
                m.cseq_method = method_from_token(trim(value.substr(i)));
            }
            break;
        case hdr::user_agent:
            if (m.user_agent.empty()) m.user_agent = value;
            break;
        case hdr::server:
            if (m.server.empty()) m.server = value;
            break;
        case hdr::contact:
            if (m.contact.empty()) {
                m.contact = value;
                name_addr c;
                const std::string_view first = value.substr(0, value.find(','));
                const std::string_view params = split_name_addr(first, c);
                const std::string_view e = find_param(params, "expires");
                if (!e.empty()) m.contact_expires = parse_number(e);
            }
            break;
        case hdr::expires:
            if (m.expires < 0) m.expires = parse_number(value);
            break;
        case hdr::authorization: m.has_authorization = true; break;
        case hdr::proxy_authorization: m.has_proxy_authorization = true; break;
        case hdr::content_length:
            if (m.content_length < 0) m.content_length = parse_number(value);
            break;
        case hdr::content_type:
            if (m.content_type.empty()) m.content_type = value;
            break;
        case hdr::other: break;
    }
}

bool parse_start_line(std::string_view line, message_view& m) noexcept {
    if (line.size() >= 11 && istarts_with(line, "SIP/2.0 ")) {
        std::string_view rest = line.substr(8);
        while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
        if (rest.size() < 3) return false;
        unsigned code = 0;
        for (int i = 0; i < 3; ++i) {
            if (rest[i] < '0' || rest[i] > '9') return false;
            code = code * 10 + static_cast<unsigned>(rest[i] - '0');
        }
        if (code < 100 || code > 699) return false;
        if (rest.size() > 3 && rest[3] != ' ' && rest[3] != '\t') return false;
        m.is_request = false;
        m.status = static_cast<std::uint16_t>(code);
        m.reason_phrase = trim(rest.substr(3));
        return true;
    }
    std::size_t i = 0;
    while (i < line.size() && is_token_char(line[i])) ++i;
    if (i == 0 || i >= line.size() || line[i] != ' ') return false;
    const std::string_view token = line.substr(0, i);
    const std::size_t uri_end = line.find(' ', i + 1);
    if (uri_end == std::string_view::npos || uri_end == i + 1) return false;
    if (!istarts_with(line.substr(uri_end + 1), "SIP/")) return false;
    m.is_request = true;
    m.method_token = token;
    m.request_method = method_from_token(token);
    m.request_uri = line.substr(i + 1, uri_end - i - 1);
    return true;
}

}  // namespace

std::string_view to_string(method m) noexcept {
    const auto i = static_cast<unsigned>(m);
    return (i == 0 || i >= method_count) ? std::string_view("OTHER") : method_names[i];
}

method method_from_token(std::string_view token) noexcept {
    for (unsigned i = 1; i < method_count; ++i)
        if (method_names[i] == token) return static_cast<method>(i);
    return method::unknown;
}

std::string_view to_string(parse_status s) noexcept {
    switch (s) {
        case parse_status::ok: return "ok";
        case parse_status::keepalive: return "keepalive";
        case parse_status::empty: return "empty";
        case parse_status::not_sip: return "not_sip";
        case parse_status::bad_header: return "bad_header";
        case parse_status::too_many_headers: return "too_many_headers";
    }
    return "?";
}

parse_status parse_message(const std::uint8_t* data, std::size_t len, message_view& out) noexcept {
    out = message_view{};
    if (data == nullptr || len == 0) return parse_status::empty;
    const char* p = reinterpret_cast<const char*>(data);
    const char* const end = p + len;
    {
        const char* q = p;
        while (q < end && (*q == '\r' || *q == '\n')) ++q;
        if (q == end) return parse_status::keepalive;
    }
    // Start line.
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', len));
    const char* line_end = nl ? nl : end;
    std::string_view start(p, static_cast<std::size_t>(line_end - p));
    if (!start.empty() && start.back() == '\r') start.remove_suffix(1);
    if (!parse_start_line(start, out)) return parse_status::not_sip;
    p = nl ? nl + 1 : end;
    // Header lines, up to the empty line. One pass over each name (short) to its colon, then
    // one memchr to the line end: the headers we skip cost little more than that scan.
    while (p < end) {
        if (*p == '\n' || (*p == '\r' && (p + 1 == end || p[1] == '\n'))) {
            out.headers_complete = true;
            p += *p == '\n' ? 1 : (p + 1 == end ? 1 : 2);
            break;
        }
        nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
        line_end = nl ? nl : end;
        const char* const line_start = p;
        p = nl ? nl + 1 : end;
        if (is_ws(*line_start)) continue;  // folded continuation of the previous header
        if (out.header_count >= max_headers) return parse_status::too_many_headers;
        const char* colon = line_start;
        while (colon < line_end && *colon != ':') ++colon;
        if (colon == line_end) {
            // A header cut by the capture length is not an error; a colon-less line inside is.
            if (nl == nullptr) break;
            return parse_status::bad_header;
        }
        ++out.header_count;
        std::string_view name(line_start, static_cast<std::size_t>(colon - line_start));
        while (!name.empty() && is_ws(name.back())) name.remove_suffix(1);
        const hdr kind = classify_header(name);
        if (kind != hdr::other)
            apply_header(kind, trim(std::string_view(colon + 1, static_cast<std::size_t>(line_end - colon - 1))), out);
    }
    if (out.headers_complete && p < end) {
        // Content-Length bounds the body (a stream may carry the next message after it);
        // without one, a datagram's body runs to its end.
        std::size_t n = static_cast<std::size_t>(end - p);
        if (out.content_length >= 0 && static_cast<std::uint64_t>(out.content_length) < n)
            n = static_cast<std::size_t>(out.content_length);
        out.body = std::string_view(p, n);
    }
    return parse_status::ok;
}

bool starts_message(const std::uint8_t* data, std::size_t len) noexcept {
    if (data == nullptr || len < 8) return false;
    const std::string_view s(reinterpret_cast<const char*>(data), len < 64 ? len : 64);
    if (istarts_with(s, "SIP/2.0 ")) return true;
    std::size_t i = 0;
    while (i < s.size() && is_token_char(s[i])) ++i;
    if (i == 0 || i >= s.size() || s[i] != ' ') return false;
    const std::string_view uri = s.substr(i + 1);
    return istarts_with(uri, "sip:") || istarts_with(uri, "sips:") || istarts_with(uri, "tel:");
}

bool contains_nocase(std::string_view haystack, std::string_view needle) noexcept {
    if (needle.empty()) return true;
    if (needle.size() > haystack.size()) return false;
    const char first = lower(needle[0]);
    for (std::size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
        if (lower(haystack[i]) != first) continue;
        if (iequals(haystack.substr(i, needle.size()), needle)) return true;
    }
    return false;
}

}  // namespace pbxgate::sip
