// The small text helpers the SIP and SDP readers share: ASCII case folding and comparing,
// blanks, trimming. Header-only, allocation-free, never throwing.
#pragma once

#include <cstddef>
#include <string_view>

namespace pbxgate::sip::detail {

constexpr char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

constexpr bool is_ws(char c) noexcept { return c == ' ' || c == '\t'; }

// Equal but for the case of ASCII letters.
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

inline bool istarts_with(std::string_view s, std::string_view prefix) noexcept {
    return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

// Without leading blanks, and without trailing blanks and CRs.
inline std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && is_ws(s.front())) s.remove_prefix(1);
    while (!s.empty() && (is_ws(s.back()) || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

}  // namespace pbxgate::sip::detail
