#include "blocklist/blocklist_parser.hpp"

#include <algorithm>

namespace pbxgate::blocklist {
namespace {

bool blank(char c) noexcept { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

std::string_view trimmed(std::string_view s) noexcept {
    while (!s.empty() && blank(s.front())) s.remove_prefix(1);
    while (!s.empty() && blank(s.back())) s.remove_suffix(1);
    return s;
}

// A message quoting file content, safe for a log line (control bytes shown as '?').
std::string printable(std::string_view s) {
    constexpr std::size_t max = 160;
    std::string out;
    for (std::size_t i = 0; i < s.size() && i < max; ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        out += (c < 0x20 || c >= 0x7f) ? '?' : static_cast<char>(c);
    }
    if (s.size() > max) out += "...";
    return out;
}

// ::ffff:a.b.c.d/N (N >= 96) is the IPv4 prefix a.b.c.d/(N-96): lookups unmap sources.
ip_prefix unmapped(const ip_prefix& p) noexcept {
    if (p.address.family != ip_family::v6 || p.length < 96 || !p.address.is_v4_mapped()) return p;
    return ip_prefix{p.address.unmapped(), static_cast<std::uint8_t>(p.length - 96)};
}

}  // namespace

parsed_file parse_file(std::string_view text, std::size_t max_entries) {
    parsed_file out;
    if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
    std::uint32_t number = 0;
    auto fail = [&](std::string message) {
        ++out.malformed;
        if (out.errors.size() < max_reported_errors) out.errors.push_back({number, std::move(message)});
    };
    while (!text.empty()) {
        const std::size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
        if (number < UINT32_MAX) ++number;
        if (line.size() > max_line_length) {
            fail("line longer than " + std::to_string(max_line_length) + " bytes");
            continue;
        }
        if (const std::size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
        line = trimmed(line);
        if (line.empty()) continue;
        // parse_address reads a C string: a NUL inside the line would cut it short.
        if (std::any_of(line.begin(), line.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 && !blank(c); })) {
            fail("control character in '" + printable(line) + "'");
            continue;
        }
        std::string why;
        const auto parsed = parse_prefix(line, &why);
        if (!parsed) {
            fail(printable(why.empty() ? "'" + std::string(line) + "' is not an address or prefix" : why));
            continue;
        }
        const ip_prefix prefix = unmapped(*parsed);
        // A feed entry as broad as this is a broken feed, not a ban: refusing it keeps a bad
        // download from cutting the PBX off the internet.
        const unsigned shortest = prefix.address.family == ip_family::v4 ? min_length_v4 : min_length_v6;
        if (prefix.length < shortest) {
            fail(printable(to_string(prefix)) + " is broader than /" + std::to_string(shortest) +
                 ", the shortest prefix a blocklist may hold");
            continue;
        }
        if (out.entries.size() >= max_entries) {
            ++out.refused;
            continue;
        }
        out.entries.push_back({prefix, number});
    }
    return out;
}

}  // namespace pbxgate::blocklist
