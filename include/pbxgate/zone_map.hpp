// zone_map: longest-prefix-match of an address to a zone, IPv4 and IPv6, that stays fast
// with a million prefixes. Built once, then read-only; lookups allocate nothing, take no
// lock and never throw.
//
// Prefixes of several zones may overlap: an address belongs to the highest-precedence
// zone (blocked > trusted > lan) whose prefix covers it, whatever the prefix lengths.
// Everything else is `zone::internet`. Because only the zone matters, the prefixes are
// flattened into disjoint address intervals at build time; see src/compile/ for layout.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "pbxgate/address.hpp"
#include "pbxgate/verdict.hpp"

namespace pbxgate {

struct zoned_prefix {
    ip_prefix prefix;
    zone z;
};

class zone_map {
public:
    zone_map() = default;
    // May throw std::bad_alloc (build time only).
    static zone_map build(std::span<const zoned_prefix> prefixes);

    zone lookup(const ip_address& a) const noexcept;
    zone lookup_v4(std::uint32_t host_order) const noexcept;

    std::size_t interval_count_v4() const noexcept;
    std::size_t interval_count_v6() const noexcept;
    std::size_t memory_bytes() const noexcept;

private:
    // IPv4: a 65,536-entry index on the top 16 bits. Each entry is either a zone (the
    // whole /16 is one zone) or a [begin, end) range into low16_/zone4_, the sorted
    // interval starts within that /16, searched with a branchless binary search.
    std::vector<std::uint32_t> index4_;      // see src/compile/zone_map.cpp for the encoding
    std::vector<std::uint16_t> low16_;
    std::vector<std::uint8_t> zone4_;
    // IPv6: the same scheme on the top 16 bits, with 128-bit interval starts.
    std::vector<std::uint32_t> index6_;
    std::vector<std::uint64_t> hi6_;
    std::vector<std::uint64_t> lo6_;
    std::vector<std::uint8_t> zone6_;
};

}  // namespace pbxgate
