#include "pbxgate/prefix_set.hpp"

#include <algorithm>
#include <limits>

#include "util/byte_order.hpp"

namespace pbxgate {
namespace {

__extension__ typedef unsigned __int128 u128;

u128 key_of(const ip_address& a) noexcept {
    return (u128{load_be64(a.bytes.data())} << 64) | load_be64(a.bytes.data() + 8);
}

// Sorts, then fuses nested, overlapping and adjacent intervals.
template <class K>
void merge(std::vector<std::pair<K, K>>& rs) {
    std::sort(rs.begin(), rs.end());
    std::size_t out = 0;
    for (const auto& r : rs) {
        if (out > 0) {
            auto& last = rs[out - 1];
            if (last.second == std::numeric_limits<K>::max() || r.first <= last.second + 1) {
                last.second = std::max(last.second, r.second);
                continue;
            }
        }
        rs[out++] = r;
    }
    rs.resize(out);
}

template <class K>
bool in(const std::vector<std::pair<K, K>>& rs, K a) noexcept {
    // The last interval starting at or before `a`.
    const auto after = std::upper_bound(rs.begin(), rs.end(), a, [](K v, const std::pair<K, K>& r) { return v < r.first; });
    return after != rs.begin() && a <= std::prev(after)->second;
}

}  // namespace

prefix_set prefix_set::build(std::span<const ip_prefix> prefixes) {
    prefix_set s;
    for (const ip_prefix& p : prefixes) {
        // Host bits are zero by contract; masking keeps a careless caller correct.
        if (p.address.family == ip_family::v4) {
            const unsigned len = std::min<unsigned>(p.length, 32);
            const std::uint32_t host = len == 0 ? ~std::uint32_t{0} : (std::uint32_t{1} << (32 - len)) - 1;
            const std::uint32_t first = p.address.v4_host() & ~host;
            s.v4_.emplace_back(first, first | host);
        } else {
            const unsigned len = std::min<unsigned>(p.length, 128);
            const u128 host = len == 0 ? ~u128{0} : (u128{1} << (128 - len)) - 1;
            const u128 first = key_of(p.address) & ~host;
            s.v6_.emplace_back(first, first | host);
        }
    }
    merge(s.v4_);
    merge(s.v6_);
    return s;
}

bool prefix_set::contains(const ip_address& a) const noexcept {
    const ip_address u = a.unmapped();
    return u.family == ip_family::v4 ? in(v4_, u.v4_host()) : in(v6_, key_of(u));
}

}  // namespace pbxgate
