// zone_map: prefixes flattened into disjoint intervals, then indexed on the top bits.
//
// Build (off the packet path, O(n log n) in the number of prefixes):
//  1. each prefix becomes an inclusive address range [lo, hi];
//  2. per zone, ranges are sorted and merged (nested, overlapping and adjacent ones fuse);
//  3. a sweep over the boundaries of all zones gives each elementary interval the highest
//     zone covering it (zone values are ordered by precedence: blocked > trusted > lan >
//     internet), and adjacent intervals of the same zone are fused;
//  4. the intervals are cut into blocks of the top `bits` of the address: a block that is
//     one zone becomes a direct index entry, any other a bucket of sorted keys.
// Lookup: one index load, then (only in mixed blocks) a branchless binary search over the
// bucket. Keys carry the zone in their low byte so the search's last load yields the
// answer without touching another array.
#include "pbxgate/zone_map.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>

namespace pbxgate {

namespace {

__extension__ typedef unsigned __int128 u128;

constexpr std::uint32_t direct_bit = 0x8000'0000u;
// Below this many intervals an 8-bit index (1 KB) is enough: the bucket searches stay in
// L1, and a reload of a small policy builds and holds almost nothing.
constexpr std::size_t small_map_intervals = 1024;

// Number of elements <= key in the sorted [first, first + n). Branchless: the compiler
// turns the ternary into a conditional move, so a lookup costs no mispredictions.
template <class K>
inline std::size_t count_le(const K* first, std::size_t n, K key) noexcept {
    const K* const base = first;
    while (n > 0) {
        const std::size_t half = n / 2;
        first = (first[half] <= key) ? first + (n - half) : first;
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

// Cuts the intervals into 2^bits blocks of a `width`-bit address space (see the header).
template <class K, class Key>
void build_index(const flat_intervals<K>& f, unsigned width, unsigned bits, std::vector<std::uint32_t>& index,
                 std::vector<Key>& keys) {
    const std::size_t blocks = std::size_t{1} << bits;
    const unsigned low_bits = width - bits;
    index.assign(blocks, 0);
    keys.clear();
    keys.reserve(f.starts.size() + std::min(blocks, f.starts.size()));
    std::size_t j = 0;  // the interval holding the block's first address
    const std::size_t n = f.starts.size();
    for (std::size_t b = 0; b < blocks; ++b) {
        const K block_start = static_cast<K>(K{b} << low_bits);
        while (j + 1 < n && f.starts[j + 1] <= block_start) ++j;
        const bool last_block = b + 1 == blocks;
        const K next_block = last_block ? K{0} : static_cast<K>(K{b + 1} << low_bits);
        std::size_t end = j + 1;
        while (end < n && (last_block || f.starts[end] < next_block)) ++end;
        const std::size_t inside = end - (j + 1);
        if (inside == 0) {
            index[b] = direct_bit | f.zones[j];
            continue;
        }
        if (keys.size() >= direct_bit) throw std::length_error("zone_map: too many intervals");
        index[b] = static_cast<std::uint32_t>(keys.size());
        keys.push_back(static_cast<Key>((static_cast<Key>(inside) << 8) | f.zones[j]));
        for (std::size_t i = j + 1; i < end; ++i)
            keys.push_back(static_cast<Key>((static_cast<Key>(f.starts[i] - block_start) << 8) | f.zones[i]));
    }
    keys.shrink_to_fit();
}

template <class K>
std::size_t non_internet(const flat_intervals<K>& f) {
    return static_cast<std::size_t>(
        std::count_if(f.zones.begin(), f.zones.end(), [](std::uint8_t z) { return z != 0; }));
}

std::uint64_t load_be64(const std::uint8_t* p) noexcept {
    std::uint64_t v;
    std::memcpy(&v, p, sizeof v);
    return __builtin_bswap64(v);
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
        const unsigned bits = f4.starts.size() <= small_map_intervals ? 8 : 16;
        build_index<std::uint64_t, std::uint32_t>(f4, 32, bits, m.index4_, m.keys4_);
        m.shift4_ = 32 - bits;
        m.intervals4_ = non_internet(f4);
    }
    const auto f6 = flatten<u128>(r6, ~u128{0});
    if (f6.starts.size() > 1 || f6.zones[0] != 0) {
        const unsigned bits = f6.starts.size() <= small_map_intervals ? 8 : 16;
        build_index<u128, key128>(f6, 128, bits, m.index6_, m.keys6_);
        m.shift6_ = 64 - bits;
        m.intervals6_ = non_internet(f6);
    }
    return m;
}

zone zone_map::lookup_v4(std::uint32_t a) const noexcept {
    if (index4_.empty()) return zone::internet;
    const std::uint32_t e = index4_[a >> shift4_];
    if (e & direct_bit) return static_cast<zone>(e & 0xffu);
    const std::uint32_t* bucket = keys4_.data() + e;
    const std::uint32_t low = a & ((std::uint32_t{1} << shift4_) - 1);
    // 0xff: a key whose start equals the address compares <= whatever its zone byte.
    const std::uint32_t key = (low << 8) | 0xffu;
    return static_cast<zone>(bucket[count_le(bucket + 1, bucket[0] >> 8, key)] & 0xffu);
}

zone zone_map::lookup_v6(const ip_address& a) const noexcept {
    const std::uint64_t hi = load_be64(a.bytes.data());
    const std::uint64_t lo = load_be64(a.bytes.data() + 8);
    if (hi == 0 && (lo >> 32) == 0xffffu) return lookup_v4(static_cast<std::uint32_t>(lo));  // ::ffff:a.b.c.d
    if (index6_.empty()) return zone::internet;
    const std::uint32_t e = index6_[static_cast<std::size_t>(hi >> shift6_)];
    if (e & direct_bit) return static_cast<zone>(e & 0xffu);
    const key128* bucket = keys6_.data() + e;
    const u128 low = ((u128{hi} << 64) | lo) & (~u128{0} >> (64 - shift6_));
    const u128 key = (low << 8) | 0xffu;
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
