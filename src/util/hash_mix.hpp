// The arithmetic the packet path's open-addressing tables share (source table, pinholes):
// a 64-bit mixer that spreads keys over the slots, and the power-of-two slot count.
#pragma once

#include <cstddef>
#include <cstdint>

namespace pbxgate {

inline std::uint64_t mix64(std::uint64_t x) noexcept {  // splitmix64 finaliser
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

// At least n slots, a power of two (an index is a mask), never fewer than 1,024.
inline std::size_t table_slots(std::size_t n) noexcept {
    std::size_t p = 1024;
    while (p < n) p <<= 1;
    return p;
}

}  // namespace pbxgate
