// Sets of ports as sorted lists of ranges: the overlap check and the Asterisk import both
// compare and carve them.
#pragma once

#include <vector>

#include "pbxgate/policy.hpp"

namespace pbxgate::policy_detail {

// Sorted, with touching and overlapping ranges merged, so that intersecting two lists
// is one linear walk and an overlap is reported as ranges, not port by port.
std::vector<port_range> normalized(std::vector<port_range> ports);
// Both normalized.
std::vector<port_range> intersection(const std::vector<port_range>& a, const std::vector<port_range>& b);
// `from` without the ports in `minus` (both normalized).
std::vector<port_range> subtract(const std::vector<port_range>& from, const std::vector<port_range>& minus);

}  // namespace pbxgate::policy_detail
