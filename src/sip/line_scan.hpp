// Finding the line ends of a SIP message 64 bytes at a time: a bit mask per 64-byte block
// (bit i set when byte i is '\n'), so the next line end is a count of trailing zeros, not a
// memchr call or a byte loop per line; and short searches 16 bytes at a time.
// SSE2 (baseline on x86-64) builds a mask in four compares; the scalar builder is the
// portable fallback, and the tests check that both agree. Bounded by the input: the last
// partial block is copied into a zero-padded buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#define PBXGATE_SIP_SSE2 1
#endif

namespace pbxgate::sip::detail {

// Bit i of the mask is set when p[i] == C.
template <char C>
inline std::uint64_t byte_mask_scalar(const char* p) noexcept {
    std::uint64_t m = 0;
    for (unsigned i = 0; i < 64; ++i) m |= static_cast<std::uint64_t>(p[i] == C) << i;
    return m;
}

#if defined(PBXGATE_SIP_SSE2)
template <char C>
inline std::uint64_t byte_mask_sse2(const char* p) noexcept {
    const __m128i c = _mm_set1_epi8(C);
    const auto bits = [&](unsigned i) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * i));
        return static_cast<std::uint64_t>(static_cast<std::uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, c))));
    };
    return bits(0) | bits(1) << 16 | bits(2) << 32 | bits(3) << 48;
}
#endif

// The 64 bytes at p must all be readable.
template <char C>
inline std::uint64_t byte_mask(const char* p) noexcept {
#if defined(PBXGATE_SIP_SSE2)
    return byte_mask_sse2<C>(p);
#else
    return byte_mask_scalar<C>(p);
#endif
}

// The line ends of a message in order, for a reader that consumes every line: each call
// returns the next '\n' after the one it returned before (nullptr past the last), popping
// the lowest bit of the current block's mask; a block's mask is built once. Mask is a
// template parameter so the tests run it over both builders.
template <std::uint64_t (*Mask)(const char*) = byte_mask<'\n'>>
class line_ends {
public:
    line_ends(const char* begin, const char* end) noexcept : begin_(begin), end_(end), block_(begin) {
        if (begin_ < end_) load();
    }

    const char* next() noexcept {
        while (mask_ == 0) {
            if (end_ - block_ <= 64) return nullptr;  // the last block had no more
            block_ += 64;
            load();
        }
        const char* const at = block_ + __builtin_ctzll(mask_);
        mask_ &= mask_ - 1;
        return at;
    }

private:
    void load() noexcept {
        const std::size_t left = static_cast<std::size_t>(end_ - block_);
        if (left >= 64) {
            mask_ = Mask(block_);
        } else if (end_ - begin_ >= 64) {
            mask_ = Mask(end_ - 64) >> (64 - left);  // the 64 bytes ending at the end, shifted
        } else {
            char tail[64] = {};  // the zero padding holds no '\n'
            std::memcpy(tail, block_, left);
            mask_ = Mask(tail);
        }
    }

    const char* begin_;
    const char* end_;
    const char* block_;
    std::uint64_t mask_ = 0;
};

// The first byte of s at or after `from` that is one of Cs, or npos: 16 bytes per compare,
// never reading outside s. A tail shorter than 16 bytes is read as the last 16 bytes of s
// (overlapping what was searched, masked off) when s is that long, else byte by byte.
template <char... Cs>
inline std::size_t find_any(std::string_view s, std::size_t from = 0) noexcept {
    std::size_t i = from;
#if defined(PBXGATE_SIP_SSE2)
    const auto hits = [](const char* at) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(at));
        __m128i eq = _mm_setzero_si128();
        ((eq = _mm_or_si128(eq, _mm_cmpeq_epi8(v, _mm_set1_epi8(Cs)))), ...);
        return static_cast<unsigned>(_mm_movemask_epi8(eq));
    };
    for (; i + 16 <= s.size(); i += 16) {
        const unsigned m = hits(s.data() + i);
        if (m != 0) return i + static_cast<std::size_t>(__builtin_ctz(m));
    }
    if (i < s.size() && s.size() >= 16) {
        const std::size_t base = s.size() - 16;  // base < i: bits below i - base are searched bytes
        const unsigned m = hits(s.data() + base) >> (i - base);
        return m != 0 ? i + static_cast<std::size_t>(__builtin_ctz(m)) : std::string_view::npos;
    }
#endif
    for (; i < s.size(); ++i)
        if (((s[i] == Cs) || ...)) return i;
    return std::string_view::npos;
}

}  // namespace pbxgate::sip::detail
