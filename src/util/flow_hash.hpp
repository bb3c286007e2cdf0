// FNV-1a over a flow's 5-tuple, for the direct-mapped flow tables of the packet path: cheap,
// and a collision only costs a missed or extra entry. Never 0, the tables' empty-slot key.
#pragma once

#include <cstdint>

#include "pbxgate/address.hpp"

namespace pbxgate {

inline std::uint64_t flow_hash(const ip_address& src, const ip_address& dst, std::uint16_t sport,
                               std::uint16_t dport, std::uint8_t protocol) noexcept {
    std::uint64_t h = 1469598103934665603ull;
    const auto mix = [&h](std::uint8_t b) noexcept { h = (h ^ b) * 1099511628211ull; };
    for (const std::uint8_t b : src.bytes) mix(b);
    for (const std::uint8_t b : dst.bytes) mix(b);
    mix(protocol);
    mix(static_cast<std::uint8_t>(sport >> 8));
    mix(static_cast<std::uint8_t>(sport));
    mix(static_cast<std::uint8_t>(dport >> 8));
    mix(static_cast<std::uint8_t>(dport));
    return h == 0 ? 1 : h;
}

}  // namespace pbxgate
