// Address arithmetic shared by the zone-map tests and benchmark.
#pragma once

#include <cstdint>

#include "pbxgate/address.hpp"

namespace pbxgate::test {

// IPv6 address from two host-order halves.
inline ip_address v6(std::uint64_t hi, std::uint64_t lo) {
    std::uint8_t b[16];
    for (int i = 0; i < 8; ++i) {
        b[i] = static_cast<std::uint8_t>(hi >> (56 - 8 * i));
        b[8 + i] = static_cast<std::uint8_t>(lo >> (56 - 8 * i));
    }
    return ip_address::v6(b);
}

// The address with every bit after the first `len` cleared (a prefix's network).
inline ip_address masked(ip_address a, unsigned len) {
    const unsigned width = a.family == ip_family::v4 ? 32 : 128;
    for (unsigned bit = len; bit < width; ++bit)
        a.bytes[bit / 8] &= static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
    return a;
}

}  // namespace pbxgate::test
