// prefix_set: is an address inside any of a list of IPv4/IPv6 prefixes? Built once, then
// read-only; contains() allocates nothing, takes no lock and never throws. Made for short
// lists (router placement's protected addresses): the prefixes are merged into disjoint
// sorted intervals and searched by bisection. Long zone lists use zone_map instead.
#pragma once

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "pbxgate/address.hpp"

namespace pbxgate {

class prefix_set {
public:
    prefix_set() = default;
    // May throw std::bad_alloc (build time only).
    static prefix_set build(std::span<const ip_prefix> prefixes);

    // ::ffff:a.b.c.d is looked up as a.b.c.d, as zone_map does.
    bool contains(const ip_address& a) const noexcept;
    bool empty() const noexcept { return v4_.empty() && v6_.empty(); }

private:
    // GCC/Clang's 128-bit integer (__extension__ keeps -Wpedantic quiet): IPv6 keys.
    __extension__ typedef unsigned __int128 key128;

    std::vector<std::pair<std::uint32_t, std::uint32_t>> v4_;  // [first, last], sorted, disjoint
    std::vector<std::pair<key128, key128>> v6_;
};

}  // namespace pbxgate
