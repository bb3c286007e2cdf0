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
    // GCC/Clang's 128-bit integer (__extension__ keeps -Wpedantic quiet): IPv6 keys.
    __extension__ typedef unsigned __int128 key128;

    // Each family: all non-internet intervals lie in one aligned block of the address
    // space, the common leading bits (`prefix`, `skip` bits long) of their first and last
    // addresses: anything outside it is internet. Inside, an index on the next `bits` bits
    // (8 to 20, growing with the interval count; a 10-prefix policy's map is a few KB)
    // holds per block either `direct | zone` (the whole block is one zone) or the offset of a bucket
    // in keys*_: a header `(n << 8) | zone at the block start`, then n sorted keys
    // `(start offset within the block << 8) | zone`, searched with a branchless binary
    // search. Skipping the common bits spreads real IPv6 lists (all in 2000::/3, often in
    // a few /16s) over the whole index. An empty index means the family is all internet.
    std::vector<std::uint32_t> index4_;
    std::vector<std::uint32_t> keys4_;
    std::uint32_t prefix_mask4_ = 0;   // the top `skip` bits
    std::uint32_t prefix4_ = 0;
    std::uint32_t low_mask4_ = 0;      // the bits below the index
    std::uint8_t skip4_ = 0;
    std::uint8_t shift4_ = 0;          // 32 - index bits
    std::vector<std::uint32_t> index6_;
    std::vector<key128> keys6_;
    key128 prefix_mask6_ = 0;
    key128 prefix6_ = 0;
    key128 low_mask6_ = 0;
    std::uint8_t skip6_ = 0;
    std::uint8_t shift6_ = 0;          // 128 - index bits
    std::size_t intervals4_ = 0;       // disjoint non-internet intervals
    std::size_t intervals6_ = 0;

    zone lookup_v6(const ip_address& a) const noexcept;
};

}  // namespace pbxgate
