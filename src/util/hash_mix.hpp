// The arithmetic the packet path's open-addressing tables share (source table, pinholes):
// a 64-bit mixer that spreads keys over the slots, a hash of header text (Call-ID, Via
// branch), and the power-of-two slot count.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace pbxgate {

inline std::uint64_t mix64(std::uint64_t x) noexcept {  // splitmix64 finaliser
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

// Text folded into h eight bytes per multiply: a byte-at-a-time FNV over a Call-ID and a
// branch (~60 bytes) is a chain of dependent multiplies that costs more than the lookup.
inline std::uint64_t hash_bytes(std::uint64_t h, std::string_view s) noexcept {
    constexpr std::uint64_t k = 0x9e3779b97f4a7c15ull;
    std::size_t i = 0;
    for (; i + 8 <= s.size(); i += 8) {
        std::uint64_t w;
        std::memcpy(&w, s.data() + i, 8);
        h = (h ^ w) * k;
        h ^= h >> 29;
    }
    std::uint64_t tail = 0;
    if (i < s.size()) std::memcpy(&tail, s.data() + i, s.size() - i);  // never memcpy from a null view
    h = (h ^ tail ^ (static_cast<std::uint64_t>(s.size()) << 56)) * k;
    return h ^ (h >> 32);
}

// At least n slots, a power of two (an index is a mask), never fewer than 1,024.
inline std::size_t table_slots(std::size_t n) noexcept {
    std::size_t p = 1024;
    while (p < n) p <<= 1;
    return p;
}

}  // namespace pbxgate
