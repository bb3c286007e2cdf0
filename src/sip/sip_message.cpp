#include "sip/sip_message.hpp"

#include <array>
#include <bit>
#include <cstring>
#include <type_traits>

#include "sip/line_scan.hpp"
#include "sip/text.hpp"

namespace pbxgate::sip {
namespace {

constexpr std::array<std::string_view, method_count> method_names{
    "", "INVITE", "ACK", "BYE", "CANCEL", "REGISTER", "OPTIONS", "SUBSCRIBE", "NOTIFY", "REFER",
    "INFO", "MESSAGE", "UPDATE", "PRACK", "PUBLISH"};

using detail::iequals;
using detail::is_ws;
using detail::istarts_with;
using detail::lower;
using detail::trim;

// string_view::find(char) is a memchr call; the values searched here are a few dozen bytes,
// where an inline compare of 16 at a time costs less than the call.
using detail::find_any;

// A name (of a header or a parameter) compared 8 bytes at a time instead of byte by byte: `pattern` holds the
// lower-case name and `fold` the case bit (0x20) at its letters only, so (word | fold) equals
// the pattern exactly when each letter matches in either case and every other byte ('-')
// matches as itself. Words: bytes 0-7, the last 8 (overlapping) and 8-15 for names over 16.
struct name_words {
    std::uint64_t pattern[3]{};
    std::uint64_t fold[3]{};
    std::uint64_t keep = ~std::uint64_t{0};  // the bytes of word 0 that belong to the name
};

constexpr name_words words_of(std::string_view name) {
    name_words w;
    const auto word = [&](std::size_t from, unsigned slot) {
        for (std::size_t i = 0; i < 8 && from + i < name.size(); ++i) {
            const char c = name[from + i];
            const bool letter = c >= 'a' && c <= 'z';
            w.pattern[slot] |= std::uint64_t{static_cast<unsigned char>(c)} << (8 * i);
            if (letter) w.fold[slot] |= std::uint64_t{0x20} << (8 * i);
        }
    };
    word(0, 0);
    if (name.size() < 8) w.keep = (std::uint64_t{1} << (8 * name.size())) - 1;
    if (name.size() > 8) word(name.size() - 8, 1);
    if (name.size() > 16) word(8, 2);
    return w;
}

inline std::uint64_t load_word(const char* p) noexcept {
    std::uint64_t w;
    std::memcpy(&w, p, sizeof w);
    return w;
}

template <std::size_t N>
struct fixed_name {
    char text[N]{};
    constexpr fixed_name(const char (&s)[N]) {
        for (std::size_t i = 0; i < N; ++i) text[i] = s[i];
    }
};

// `s` holds the name's bytes (as long as Name) and at least 8 readable bytes.
template <fixed_name Name>
inline bool name_is(const char* s) noexcept {
    constexpr std::size_t n = sizeof(Name.text) - 1;
    static_assert(n >= 2 && n <= 24);
    constexpr name_words w = words_of(std::string_view(Name.text, n));
    if (((load_word(s) | w.fold[0]) & w.keep) != w.pattern[0]) return false;
    if constexpr (n > 8)
        if ((load_word(s + n - 8) | w.fold[1]) != w.pattern[1]) return false;
    if constexpr (n > 16)
        if ((load_word(s + 8) | w.fold[2]) != w.pattern[2]) return false;
    return true;
}

// Are the bytes at s (as many as Name has; `readable` >= that many may be read) Name in any
// case? A word compare where 8 bytes are readable, else (a datagram cut a few bytes after
// the name, or a big-endian host) byte by byte.
template <fixed_name Name>
inline bool name_at(const char* s, std::size_t readable) noexcept {
    constexpr std::size_t n = sizeof(Name.text) - 1;
    if constexpr (std::endian::native == std::endian::little)
        if (readable >= 8) return name_is<Name>(s);
    return iequals(std::string_view(s, n), std::string_view(Name.text, n));
}

// RFC 3261 token characters, as a table: the start line's method is read byte by byte.
constexpr std::array<bool, 256> token_chars = [] {
    std::array<bool, 256> t{};
    for (int c = 'a'; c <= 'z'; ++c) t[static_cast<unsigned>(c)] = true;
    for (int c = 'A'; c <= 'Z'; ++c) t[static_cast<unsigned>(c)] = true;
    for (int c = '0'; c <= '9'; ++c) t[static_cast<unsigned>(c)] = true;
    for (const char c : std::string_view("-.!%*_+`'~")) t[static_cast<unsigned char>(c)] = true;
    return t;
}();
constexpr bool is_token_char(char c) noexcept { return token_chars[static_cast<unsigned char>(c)]; }

// Leading decimal digits (after blanks), saturating at 2^32-1; -1 when there are none.
// `digits` is set to where the digits end.
std::int64_t parse_number(std::string_view s, std::size_t& digits) noexcept {
    std::size_t i = 0;
    while (i < s.size() && is_ws(s[i])) ++i;
    const std::size_t first = i;
    std::int64_t v = 0;
    for (; i < s.size() && static_cast<unsigned char>(s[i] - '0') <= 9; ++i) {
        v = v * 10 + (s[i] - '0');
        if (v > 0xffffffffLL) v = 0xffffffffLL;
    }
    digits = i;
    return i == first ? -1 : v;
}
std::int64_t parse_number(std::string_view s) noexcept {
    std::size_t digits = 0;
    return parse_number(s, digits);
}

// The value of `;Name=` among parameters (case-insensitive name), up to ; , or whitespace.
// FirstValue: the parameters of a header's first value only (a Via's first hop): the search ends
// at the first ',' outside a parameter value, with no separate pass to find it.
template <fixed_name Name, bool FirstValue = false>
std::string_view find_param(std::string_view params) noexcept {
    constexpr std::size_t n = sizeof(Name.text) - 1;
    std::size_t pos = 0;
    for (;;) {
        pos = FirstValue ? find_any<';', ','>(params, pos) : find_any<';'>(params, pos);
        if (pos == std::string_view::npos || params[pos] == ',') break;
        ++pos;
        while (pos < params.size() && is_ws(params[pos])) ++pos;
        if (params.size() - pos <= n) continue;
        if (!name_at<Name>(params.data() + pos, params.size() - pos)) continue;
        std::size_t at = pos + n;
        while (at < params.size() && is_ws(params[at])) ++at;
        if (at < params.size() && params[at] == '=') {
            ++at;
            while (at < params.size() && is_ws(params[at])) ++at;
            std::size_t end = find_any<';', ',', ' ', '\t'>(params, at);
            if (end == std::string_view::npos) end = params.size();
            return params.substr(at, end - at);
        }
    }
    return {};
}

std::string_view uri_user(std::string_view uri) noexcept {
    const std::size_t colon = find_any<':'>(uri);
    if (colon == std::string_view::npos) return {};
    std::string_view rest = uri.substr(colon + 1);
    const std::size_t at = find_any<'@'>(rest);
    if (at != std::string_view::npos) return rest.substr(0, at);
    if (istarts_with(uri, "tel:")) {
        const std::size_t semi = find_any<';'>(rest);
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
        for (;;) {  // to the closing quote, stepping over escaped characters
            i = find_any<'"', '\\'>(v, i);
            if (i == std::string_view::npos) {
                i = v.size();
                break;
            }
            if (v[i] == '"') break;
            i += i + 1 < v.size() ? 2 : 1;
        }
        out.display = v.substr(1, (i < v.size() ? i : v.size()) - 1);
        search_from = i < v.size() ? i + 1 : v.size();
    }
    const std::size_t lt = find_any<'<'>(v, search_from);
    if (lt != std::string_view::npos) {
        if (out.display.empty()) out.display = trim(v.substr(0, lt));
        const std::size_t gt = find_any<'>'>(v, lt);
        const std::size_t end = gt == std::string_view::npos ? v.size() : gt;
        out.uri = v.substr(lt + 1, end - lt - 1);
        out.user = uri_user(out.uri);
        return gt == std::string_view::npos ? std::string_view{} : v.substr(gt + 1);
    }
    const std::string_view spec = v.substr(search_from);
    const std::size_t semi = find_any<';'>(spec);
    out.uri = trim(spec.substr(0, semi));
    out.user = uri_user(out.uri);
    return semi == std::string_view::npos ? std::string_view{} : spec.substr(semi);
}

void parse_name_addr(std::string_view v, name_addr& out) noexcept {
    const std::string_view params = split_name_addr(v, out);
    out.tag = find_param<"tag">(params);
}

// The header kinds we read; everything else is skipped.
enum class hdr : std::uint8_t { other, via, from, to, call_id, cseq, user_agent, server, contact, expires,
                                authorization, proxy_authorization, content_length, content_type };

// The name's bytes are [s, s + n); `readable` bytes from s may be read (the rest of the
// message).
hdr classify_header(const char* s, std::size_t n, std::size_t readable) noexcept {
    if (n == 1) {
        switch (lower(s[0])) {
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
    switch (n) {
        case 2: return name_at<"to">(s, readable) ? hdr::to : hdr::other;
        case 3: return name_at<"via">(s, readable) ? hdr::via : hdr::other;
        case 4:
            if (name_at<"from">(s, readable)) return hdr::from;
            return name_at<"cseq">(s, readable) ? hdr::cseq : hdr::other;
        case 6: return name_at<"server">(s, readable) ? hdr::server : hdr::other;
        case 7:
            if (name_at<"call-id">(s, readable)) return hdr::call_id;
            if (name_at<"contact">(s, readable)) return hdr::contact;
            if (name_at<"expires">(s, readable)) return hdr::expires;
            return hdr::other;
        case 10: return name_at<"user-agent">(s, readable) ? hdr::user_agent : hdr::other;
        case 12: return name_at<"content-type">(s, readable) ? hdr::content_type : hdr::other;
        case 13: return name_at<"authorization">(s, readable) ? hdr::authorization : hdr::other;
        case 14: return name_at<"content-length">(s, readable) ? hdr::content_length : hdr::other;
        case 19: return name_at<"proxy-authorization">(s, readable) ? hdr::proxy_authorization : hdr::other;
        default: return hdr::other;
    }
}

void apply_header(hdr kind, std::string_view value, message_view& m) noexcept {
    switch (kind) {
        case hdr::via:
            if (m.via_branch.empty()) m.via_branch = find_param<"branch", true>(value);
            break;
        case hdr::from:
            if (m.from.uri.empty()) parse_name_addr(value, m.from);
            break;
        case hdr::to:
            if (m.to_header.empty()) m.to_header = value;
            break;
        case hdr::call_id:
            if (m.call_id.empty()) m.call_id = value;
            break;
        case hdr::cseq:
            if (m.cseq == 0) {
                std::size_t digits = 0;
                const std::int64_t n = parse_number(value, digits);
                if (n > 0) m.cseq = static_cast<std::uint32_t>(n);
                m.cseq_method = method_from_token(trim(value.substr(digits)));
            }
            break;
        case hdr::user_agent:
            if (m.user_agent.empty()) m.user_agent = value;
            break;
        case hdr::server:
            if (m.server.empty()) m.server = value;
            break;
        case hdr::contact:
            if (m.contact.empty()) m.contact = value;
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

// `out = message_view{}` (or a copy of a blank one) compiles to `rep stos`/`rep movs` with
// g++'s generic tuning, whose start-up costs more than reading a short start line: clear the
// view 16 bytes at a time instead (the empty asm keeps the compiler from turning the loop back
// into a memset), then set the fields whose "absent" value is not zero.
void reset(message_view& out) noexcept {
    static_assert(std::is_trivially_copyable_v<message_view>);
    auto* dst = reinterpret_cast<unsigned char*>(&out);
#if defined(PBXGATE_SIP_SSE2)
    const __m128i zero = _mm_setzero_si128();
    std::size_t i = 0;
    for (; i + 16 <= sizeof(message_view); i += 16) {
        asm("" : "+r"(dst));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), zero);
    }
    for (; i < sizeof(message_view); ++i) dst[i] = 0;
#else
    std::memset(dst, 0, sizeof(message_view));
#endif
    static constexpr message_view blank{};
    out.expires = blank.expires;
    out.content_length = blank.content_length;
}

// "SIP/2.0 " in either case: one word compare.
inline bool is_sip_version_sp(const char* p) noexcept {
    constexpr std::uint64_t pattern = 0x20302e322f706973ULL;  // "sip/2.0 " little-endian
    constexpr std::uint64_t fold = 0x0000000000202020ULL;     // case bit of s, i, p
    if constexpr (std::endian::native == std::endian::little) return (load_word(p) | fold) == pattern;
    return istarts_with(std::string_view(p, 8), "SIP/2.0 ");
}

bool parse_start_line(std::string_view line, message_view& m) noexcept {
    if (line.size() >= 11 && is_sip_version_sp(line.data())) {
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
    const std::size_t uri_end = find_any<' '>(line, i + 1);
    if (uri_end == std::string_view::npos || uri_end == i + 1) return false;
    if (!istarts_with(line.substr(uri_end + 1), "SIP/")) return false;
    m.is_request = true;
    m.method_token = token;
    m.request_method = method_from_token(token);
    m.request_uri = line.substr(i + 1, uri_end - i - 1);
    return true;
}

// The first ':' of a header line [line, line_end), or nullptr; `end` is the message's end. A
// name is short: one 16-byte compare finds the colon of nearly every line.
const char* header_colon(const char* line, const char* line_end, const char* end) noexcept {
#if defined(PBXGATE_SIP_SSE2)
    if (end - line >= 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(line));
        const auto m = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(':'))));
        if (m != 0) {
            const char* at = line + __builtin_ctz(m);
            return at < line_end ? at : nullptr;
        }
        if (line_end - line <= 16) return nullptr;
        const std::string_view rest(line + 16, static_cast<std::size_t>(line_end - line - 16));
        const std::size_t at = find_any<':'>(rest);
        return at == std::string_view::npos ? nullptr : rest.data() + at;
    }
#else
    (void)end;
#endif
    const std::string_view l(line, static_cast<std::size_t>(line_end - line));
    const std::size_t at = find_any<':'>(l);
    return at == std::string_view::npos ? nullptr : line + at;
}

}  // namespace

name_addr message_view::to() const noexcept {
    name_addr out;
    parse_name_addr(to_header, out);
    return out;
}

std::int64_t message_view::contact_expires() const noexcept {
    name_addr c;
    const std::string_view first = contact.substr(0, find_any<','>(contact));
    const std::string_view e = find_param<"expires">(split_name_addr(first, c));
    return e.empty() ? -1 : parse_number(e);
}

std::string_view to_string(method m) noexcept {
    const auto i = static_cast<unsigned>(m);
    return (i == 0 || i >= method_count) ? std::string_view("OTHER") : method_names[i];
}

namespace {
// Equal to a literal of the same length: a compare of constant size, a few loads, no call.
template <std::size_t N>
inline bool same_as(const char* t, const char (&literal)[N]) noexcept {
    return std::memcmp(t, literal, N - 1) == 0;
}
}  // namespace

method method_from_token(std::string_view token) noexcept {
    // By length, then whole-token compares of a constant size (a few loads, no call).
    const char* t = token.data();
    switch (token.size()) {
        case 3:
            if (same_as(t, "ACK")) return method::ack;
            if (same_as(t, "BYE")) return method::bye;
            break;
        case 4:
            if (same_as(t, "INFO")) return method::info;
            break;
        case 5:
            if (same_as(t, "PRACK")) return method::prack;
            if (same_as(t, "REFER")) return method::refer;
            break;
        case 6:
            if (same_as(t, "INVITE")) return method::invite;
            if (same_as(t, "CANCEL")) return method::cancel;
            if (same_as(t, "NOTIFY")) return method::notify;
            if (same_as(t, "UPDATE")) return method::update;
            break;
        case 7:
            if (same_as(t, "OPTIONS")) return method::options;
            if (same_as(t, "MESSAGE")) return method::message;
            if (same_as(t, "PUBLISH")) return method::publish;
            break;
        case 8:
            if (same_as(t, "REGISTER")) return method::register_;
            break;
        case 9:
            if (same_as(t, "SUBSCRIBE")) return method::subscribe;
            break;
        default:
            break;
    }
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
    reset(out);
    if (data == nullptr || len == 0) return parse_status::empty;
    const char* p = reinterpret_cast<const char*>(data);
    const char* const end = p + len;
    {
        const char* q = p;
        while (q < end && (*q == '\r' || *q == '\n')) ++q;
        if (q == end) return parse_status::keepalive;
    }
    // Line ends come from masks of 64-byte blocks (sip/line_scan.hpp), built once per block.
    detail::line_ends<> newlines(p, end);
    // Start line.
    const char* nl = newlines.next();
    const char* line_end = nl ? nl : end;
    std::string_view start(p, static_cast<std::size_t>(line_end - p));
    if (!start.empty() && start.back() == '\r') start.remove_suffix(1);
    if (!parse_start_line(start, out)) return parse_status::not_sip;
    p = nl ? nl + 1 : end;
    // Header lines, up to the empty line: the name (short) is scanned to its colon; the value
    // is trimmed once here and only for the headers we read.
    while (p < end) {
        if (*p == '\n' || (*p == '\r' && (p + 1 == end || p[1] == '\n'))) {
            out.headers_complete = true;
            p += *p == '\n' ? 1 : (p + 1 == end ? 1 : 2);
            break;
        }
        nl = newlines.next();
        line_end = nl ? nl : end;
        const char* const line_start = p;
        p = nl ? nl + 1 : end;
        if (is_ws(*line_start)) continue;  // folded continuation of the previous header
        if (out.header_count >= max_headers) return parse_status::too_many_headers;
        const char* const colon = header_colon(line_start, line_end, end);
        if (colon == nullptr) {
            // A header cut by the capture length is not an error; a colon-less line inside is.
            if (nl == nullptr) break;
            return parse_status::bad_header;
        }
        ++out.header_count;
        const char* name_end = colon;
        while (name_end > line_start && is_ws(name_end[-1])) --name_end;
        const hdr kind = classify_header(line_start, static_cast<std::size_t>(name_end - line_start),
                                         static_cast<std::size_t>(end - line_start));
        if (kind == hdr::other) continue;
        const char* v = colon + 1;
        const char* v_end = line_end;
        if (v_end > v && v_end[-1] == '\r') --v_end;
        while (v < v_end && is_ws(*v)) ++v;
        while (v_end > v && (is_ws(v_end[-1]) || v_end[-1] == '\r')) --v_end;
        apply_header(kind, std::string_view(v, static_cast<std::size_t>(v_end - v)), out);
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

}  // namespace pbxgate::sip
