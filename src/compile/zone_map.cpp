// zone_map: prefixes flattened into disjoint intervals, then indexed on the top bits.
//
// Build (off the packet path, O(n log n) in the number of prefixes):
//  1. each prefix becomes an inclusive address range [lo, hi];
//  2. per zone, ranges are sorted and merged (nested, overlapping and adjacent ones fuse);
//  3. a sweep over the boundaries of all zones gives each elementary interval the highest
//     zone covering it (zone values are ordered by precedence: blocked > trusted > lan >
//     internet), and adjacent intervals of the same zone are fused;
//  4. the span holding every non-internet interval is reduced to its common leading bits;
//     below them the intervals are cut into 2^bits blocks: a block that is one zone
//     becomes a direct index entry, any other a bucket of sorted keys.
// Lookup: one index load, then (only in mixed blocks) a branchless binary search over the
// bucket. Keys carry the zone in their low byte so the search's last load yields the
// answer without touching another array.
#include "pbxgate/zone_map.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <stdexcept>
#include <string>
#include <utility>

#include "util/byte_order.hpp"

namespace pbxgate {

namespace {

__extension__ typedef unsigned __int128 u128;

constexpr std::uint32_t direct_bit = 0x8000'0000u;
// Index size: about one block per 4 intervals, so a bucket (header + keys) mostly fits in
// one cache line and a lookup costs the index load plus one line. At least 8 bits (1 KB:
// a small policy's map stays tiny and its buckets in L1), at most 20 (4 MB).
constexpr unsigned min_index_bits = 8, max_index_bits = 20;
constexpr std::size_t intervals_per_block = 4;

unsigned index_bits(std::size_t intervals) noexcept {
    const auto wanted = static_cast<unsigned>(std::bit_width(intervals / intervals_per_block));
    return std::clamp(wanted, min_index_bits, max_index_bits);
}

// Number of elements <= key in the sorted [first, first + n). Branchless: the comparison
// is used as a number, so random addresses cost no mispredictions. GCC 12 compiles the
// ternary form to a branch; the product becomes a cmov for 32-bit keys (measured a little
// faster than the mask) but a branch again for 128-bit keys, which get the mask.
template <class K>
inline std::size_t count_le(const K* first, std::size_t n, K key) noexcept {
    const K* const base = first;
    while (n > 0) {
        const std::size_t half = n / 2;
        const auto le = static_cast<std::size_t>(first[half] <= key);
        if constexpr (sizeof(K) <= 8) first += le * (n - half);
        else first += (n - half) & (std::size_t{0} - le);
        n = half;
    }
    return static_cast<std::size_t>(first - base);
}

template <class K>
struct range {
    K lo, hi;  // inclusive
};

// Disjoint intervals covering the whole family: interval i is [starts[i], starts[i+1]).
template <class K>
struct flat_intervals {
    std::vector<K> starts;  // starts[0] == 0
    std::vector<std::uint8_t> zones;
};

// Sorts and fuses one zone's ranges (nested, overlapping or adjacent).
template <class K>
void merge_ranges(std::vector<range<K>>& rs, K max_key) {
    std::sort(rs.begin(), rs.end(), [](const range<K>& a, const range<K>& b) { return a.lo < b.lo; });
    std::size_t out = 0;
    for (std::size_t i = 0; i < rs.size(); ++i) {
        if (out > 0) {
            range<K>& cur = rs[out - 1];
            if (cur.hi == max_key || rs[i].lo <= cur.hi + 1) {
                cur.hi = std::max(cur.hi, rs[i].hi);
                continue;
            }
        }
        rs[out++] = rs[i];
    }
    rs.resize(out);
}

// ranges[0..2] are lan, trusted, blocked; each is merged (disjoint, sorted) on return.
template <class K>
flat_intervals<K> flatten(std::array<std::vector<range<K>>, 3>& ranges, K max_key) {
    static constexpr std::array<zone, 3> zone_of_list{zone::lan, zone::trusted, zone::blocked};
    std::vector<K> bounds{K{0}};
    std::size_t total = 0;
    for (auto& rs : ranges) {
        merge_ranges(rs, max_key);
        total += rs.size();
    }
    bounds.reserve(2 * total + 1);
    for (const auto& rs : ranges)
        for (const auto& r : rs) {
            bounds.push_back(r.lo);
            if (r.hi != max_key) bounds.push_back(r.hi + 1);
        }
    std::sort(bounds.begin(), bounds.end());
    bounds.erase(std::unique(bounds.begin(), bounds.end()), bounds.end());

    flat_intervals<K> out;
    std::array<std::size_t, 3> next{};  // per zone: first range whose hi >= the boundary
    for (const K p : bounds) {
        std::uint8_t z = static_cast<std::uint8_t>(zone::internet);
        for (std::size_t l = 0; l < 3; ++l) {
            const auto& rs = ranges[l];
            auto& i = next[l];
            while (i < rs.size() && rs[i].hi < p) ++i;
            if (i < rs.size() && rs[i].lo <= p) z = std::max(z, static_cast<std::uint8_t>(zone_of_list[l]));
        }
        if (!out.zones.empty() && out.zones.back() == z) continue;
        out.starts.push_back(p);
        out.zones.push_back(z);
    }
    return out;
}

template <class K>
unsigned common_leading_bits(K a, K b, unsigned width) noexcept {
    const K x = a ^ b;
    if (x == 0) return width;
    if constexpr (sizeof(K) == 16) {
        const auto hi = static_cast<std::uint64_t>(x >> 64);
        return hi != 0 ? static_cast<unsigned>(__builtin_clzll(hi))
                       : 64u + static_cast<unsigned>(__builtin_clzll(static_cast<std::uint64_t>(x)));
    } else {
        return static_cast<unsigned>(__builtin_clzll(static_cast<std::uint64_t>(x))) - (64u - width);
    }
}

template <class K, class Key>
struct indexed {
    std::vector<std::uint32_t> index;
    std::vector<Key> keys;
    K prefix_mask = 0, prefix = 0, low_mask = 0;
    unsigned skip = 0, shift = 0;
};

// Lays the intervals out as the header describes: the common leading bits of the
// non-internet span, then 2^bits blocks below them, each direct or a bucket of keys.
template <class K, class Key>
indexed<K, Key> build_index(const flat_intervals<K>& f, unsigned width, K max_key) {
    const std::size_t n = f.starts.size();
    std::size_t first = 0, last = n - 1;
    while (f.zones[first] == 0) ++first;  // the caller checked some interval is not internet
    while (f.zones[last] == 0) --last;
    const K span_lo = f.starts[first];
    const K span_hi = last + 1 < n ? static_cast<K>(f.starts[last + 1] - 1) : max_key;

    indexed<K, Key> out;
    const unsigned bits = index_bits(n);
    out.skip = std::min(common_leading_bits(span_lo, span_hi, width), width - bits);
    out.shift = width - bits;
    out.prefix_mask = out.skip == 0 ? K{0} : static_cast<K>(static_cast<K>(max_key << (width - out.skip)) & max_key);
    out.prefix = span_lo & out.prefix_mask;
    const unsigned low_bits = width - out.skip - bits;
    out.low_mask = static_cast<K>((K{1} << low_bits) - 1);

    const std::size_t blocks = std::size_t{1} << bits;
    out.index.assign(blocks, 0);
    out.keys.reserve(n + std::min(blocks, n));
    std::size_t j = 0;  // the interval holding the block's first address
    for (std::size_t b = 0; b < blocks; ++b) {
        const K block_start = out.prefix | static_cast<K>(K{b} << low_bits);
        const K block_last = block_start | out.low_mask;
        while (j + 1 < n && f.starts[j + 1] <= block_start) ++j;
        std::size_t end = j + 1;
        while (end < n && f.starts[end] <= block_last) ++end;
        const std::size_t inside = end - (j + 1);
        if (inside == 0) {
            out.index[b] = direct_bit | f.zones[j];
            continue;
        }
        if (out.keys.size() >= direct_bit) throw std::length_error("zone_map: too many intervals");
        out.index[b] = static_cast<std::uint32_t>(out.keys.size());
        out.keys.push_back(static_cast<Key>((static_cast<Key>(inside) << 8) | f.zones[j]));
        for (std::size_t i = j + 1; i < end; ++i)
            out.keys.push_back(static_cast<Key>((static_cast<Key>(f.starts[i] - block_start) << 8) | f.zones[i]));
    }
    out.keys.shrink_to_fit();
    return out;
}

template <class K>
std::size_t non_internet(const flat_intervals<K>& f) {
    return static_cast<std::size_t>(
        std::count_if(f.zones.begin(), f.zones.end(), [](std::uint8_t z) { return z != 0; }));
}

int list_of(zone z) {
    switch (z) {
        case zone::lan: return 0;
        case zone::trusted: return 1;
        case zone::blocked: return 2;
        case zone::internet: return -1;  // the default: nothing to record
        case zone::localhost: break;
    }
    throw std::invalid_argument("zone_map: zone '" + std::string(to_string(z)) +
                                "' cannot be given by address (only lan, trusted, blocked)");
}

}  // namespace

zone_map zone_map::build(std::span<const zoned_prefix> prefixes) {
    std::array<std::vector<range<std::uint64_t>>, 3> r4;
    std::array<std::vector<range<u128>>, 3> r6;
    for (const auto& zp : prefixes) {
        const int l = list_of(zp.z);
        if (l < 0) continue;
        const auto& p = zp.prefix;
        if (p.address.family == ip_family::v4) {
            if (p.length > 32) throw std::invalid_argument("zone_map: IPv4 prefix length above 32");
            const std::uint64_t lo = p.address.v4_host();
            const std::uint64_t size = std::uint64_t{1} << (32 - p.length);
            // Host bits are zero by contract; masking keeps a careless caller correct.
            const std::uint64_t start = lo & ~(size - 1);
            r4[static_cast<std::size_t>(l)].push_back({start, start + size - 1});
        } else {
            if (p.length > 128) throw std::invalid_argument("zone_map: IPv6 prefix length above 128");
            const u128 a = (u128{load_be64(p.address.bytes.data())} << 64) | load_be64(p.address.bytes.data() + 8);
            const u128 host = p.length == 0 ? ~u128{0} : (u128{1} << (128 - p.length)) - 1;
            r6[static_cast<std::size_t>(l)].push_back({a & ~host, (a & ~host) | host});
        }
    }

    zone_map m;
    const auto f4 = flatten<std::uint64_t>(r4, 0xffff'ffffu);
    if (f4.starts.size() > 1 || f4.zones[0] != 0) {
        auto x = build_index<std::uint64_t, std::uint32_t>(f4, 32, 0xffff'ffffu);
        m.index4_ = std::move(x.index);
        m.keys4_ = std::move(x.keys);
        m.prefix_mask4_ = static_cast<std::uint32_t>(x.prefix_mask);
        m.prefix4_ = static_cast<std::uint32_t>(x.prefix);
        m.low_mask4_ = static_cast<std::uint32_t>(x.low_mask);
        m.skip4_ = static_cast<std::uint8_t>(x.skip);
        m.shift4_ = static_cast<std::uint8_t>(x.shift);
        m.intervals4_ = non_internet(f4);
    }
    const auto f6 = flatten<u128>(r6, ~u128{0});
    if (f6.starts.size() > 1 || f6.zones[0] != 0) {
        auto x = build_index<u128, key128>(f6, 128, ~u128{0});
        m.index6_ = std::move(x.index);
        m.keys6_ = std::move(x.keys);
        m.prefix_mask6_ = x.prefix_mask;
        m.prefix6_ = x.prefix;
        m.low_mask6_ = x.low_mask;
        m.skip6_ = static_cast<std::uint8_t>(x.skip);
        m.shift6_ = static_cast<std::uint8_t>(x.shift);
        m.intervals6_ = non_internet(f6);
    }
    return m;
}

zone zone_map::lookup_v4(std::uint32_t a) const noexcept {
    if (index4_.empty() || (a & prefix_mask4_) != prefix4_) return zone::internet;
    const std::uint32_t e = index4_[static_cast<std::uint32_t>(a << skip4_) >> shift4_];
    if (e & direct_bit) return static_cast<zone>(e & 0xffu);
    const std::uint32_t* bucket = keys4_.data() + e;
    // 0xff: a key whose start equals the address compares <= whatever its zone byte.
    const std::uint32_t key = ((a & low_mask4_) << 8) | 0xffu;
    return static_cast<zone>(bucket[count_le(bucket + 1, bucket[0] >> 8, key)] & 0xffu);
}

zone zone_map::lookup_v6(const ip_address& addr) const noexcept {
    const std::uint64_t hi = load_be64(addr.bytes.data());
    const std::uint64_t lo = load_be64(addr.bytes.data() + 8);
    if (hi == 0 && (lo >> 32) == 0xffffu) return lookup_v4(static_cast<std::uint32_t>(lo));  // ::ffff:a.b.c.d
    const u128 a = (u128{hi} << 64) | lo;
    if (index6_.empty() || (a & prefix_mask6_) != prefix6_) return zone::internet;
    const std::uint32_t e = index6_[static_cast<std::size_t>(static_cast<u128>(a << skip6_) >> shift6_)];
    if (e & direct_bit) return static_cast<zone>(e & 0xffu);
    const key128* bucket = keys6_.data() + e;
    const u128 key = ((a & low_mask6_) << 8) | 0xffu;
    const auto n = static_cast<std::size_t>(bucket[0] >> 8);
    return static_cast<zone>(static_cast<std::uint8_t>(bucket[count_le(bucket + 1, n, key)]));
}
zone zone_map::lookup(const ip_address& a) const noexcept {
    return a.family == ip_family::v4 ? lookup_v4(a.v4_host()) : lookup_v6(a);
}

std::size_t zone_map::interval_count_v4() const noexcept { return intervals4_; }
std::size_t zone_map::interval_count_v6() const noexcept { return intervals6_; }

std::size_t zone_map::memory_bytes() const noexcept {
    return sizeof(*this) + index4_.capacity() * sizeof(std::uint32_t) + keys4_.capacity() * sizeof(std::uint32_t) +
           index6_.capacity() * sizeof(std::uint32_t) + keys6_.capacity() * sizeof(key128);
}

}  // namespace pbxgate
