// The searches the SIP reader uses: the SSE2 and the portable scalar mask builders agree, the
// line-end cursor answers as a plain byte search does for every length (the partial last
// block too), and find_any as string_view::find / find_first_of.
#include <catch2/catch.hpp>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "sip/line_scan.hpp"

using namespace pbxgate::sip::detail;

namespace {

const char* naive_next(const char* from, const char* limit, char c) {
    for (const char* p = from; p < limit; ++p)
        if (*p == c) return p;
    return nullptr;
}

// Every line end in order, as the reader consumes them, then nothing.
template <class LineEnds>
void check_line_ends(const std::string& text) {
    const char* b = text.data();
    const char* e = b + text.size();
    LineEnds ends(b, e);
    const char* from = b;
    for (;;) {
        const char* want = naive_next(from, e, '\n');
        const char* got = ends.next();
        REQUIRE(got == want);
        if (got == nullptr) break;
        from = got + 1;
    }
    REQUIRE(ends.next() == nullptr);
}

}  // namespace

TEST_CASE("sip line scan: scalar and SSE2 masks agree") {
    std::mt19937 rng(7);
    const char alphabet[] = "\n\r:ab ;,\0\xff";
    for (int i = 0; i < 2000; ++i) {
        char block[64];
        for (char& ch : block) ch = alphabet[rng() % (sizeof alphabet - 1)];
        const std::uint64_t nl = byte_mask_scalar<'\n'>(block);
        const std::uint64_t colon = byte_mask_scalar<':'>(block);
        for (unsigned k = 0; k < 64; ++k) {
            REQUIRE(((nl >> k) & 1) == (block[k] == '\n' ? 1u : 0u));
            REQUIRE(((colon >> k) & 1) == (block[k] == ':' ? 1u : 0u));
        }
#if defined(PBXGATE_SIP_SSE2)
        REQUIRE(byte_mask_sse2<'\n'>(block) == nl);
        REQUIRE(byte_mask_sse2<':'>(block) == colon);
#endif
    }
}

TEST_CASE("sip line scan: line ends match a byte search, with both mask builders") {
    std::mt19937 rng(11);
    // Lengths around the 64-byte block edges, newlines dense and sparse. Each text is its own
    // allocation of exactly its length, so a read past the end shows under ASan.
    for (const std::size_t len : {1u, 15u, 16u, 63u, 64u, 65u, 127u, 128u, 129u, 200u}) {
        for (const unsigned density : {2u, 9u, 70u}) {
            std::string text(len, 'x');
            for (char& ch : text) ch = rng() % density == 0 ? '\n' : 'a';
            INFO("len " << len << " density " << density);
            check_line_ends<line_ends<byte_mask_scalar<'\n'>>>(text);
#if defined(PBXGATE_SIP_SSE2)
            check_line_ends<line_ends<byte_mask_sse2<'\n'>>>(text);
#endif
        }
    }
}

TEST_CASE("sip line scan: find_any of one byte matches string_view::find") {
    std::mt19937 rng(3);
    for (std::size_t len = 0; len < 80; ++len) {
        std::string s(len, 'a');
        for (char& ch : s) ch = (rng() % 13 == 0) ? ';' : 'a';
        const std::string_view v(s);
        for (std::size_t from = 0; from <= len + 1; ++from) REQUIRE(find_any<';'>(v, from) == v.find(';', from));
    }
}

TEST_CASE("sip line scan: find_any matches string_view::find_first_of") {
    std::mt19937 rng(5);
    for (std::size_t len = 0; len < 80; ++len) {
        std::string s(len, 'a');
        for (char& ch : s) {
            const auto r = rng() % 29;
            ch = r == 0 ? ';' : r == 1 ? ',' : r == 2 ? ' ' : r == 3 ? '\t' : r == 4 ? '"' : r == 5 ? '\\' : 'a';
        }
        const std::string_view v(s);
        for (std::size_t from = 0; from <= len + 1; ++from) {
            REQUIRE(find_any<';', ',', ' ', '\t'>(v, from) == v.find_first_of(";, \t", from));
            REQUIRE(find_any<'"', '\\'>(v, from) == v.find_first_of("\"\\", from));
        }
    }
}
