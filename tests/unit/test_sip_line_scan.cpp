// The block-mask finders the SIP reader uses for line ends and header colons: the SSE2 and the
// portable scalar mask builders agree, and the finder answers as a plain byte search does for
// every start, limit and length, including the partial last block.
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

template <class Finder>
void check_finder(const std::string& text, char c) {
    const char* b = text.data();
    const char* e = b + text.size();
    for (std::size_t start = 0; start <= text.size(); ++start) {
        // Forward-only use, as the reader does: successive searches from each match.
        Finder f(b, e);
        const char* from = b + start;
        for (int hops = 0; hops < 200 && from <= e; ++hops) {
            const char* want = naive_next(from, e, c);
            const char* got = f.next(from, e);
            REQUIRE(got == want);
            if (got == nullptr) break;
            from = got + 1;
        }
        // A limit inside the input stops the search there.
        Finder g(b, e);
        const char* limit = b + (start + text.size()) / 2;
        if (limit >= b + start) REQUIRE(g.next(b + start, limit) == naive_next(b + start, limit, c));
    }
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

TEST_CASE("sip line scan: the finder matches a byte search, with both mask builders") {
    std::mt19937 rng(11);
    // Lengths around the 64-byte block edges, newlines and colons dense and sparse.
    for (const std::size_t len : {0u, 1u, 15u, 16u, 63u, 64u, 65u, 127u, 128u, 129u, 200u}) {
        for (const unsigned density : {2u, 9u, 70u}) {
            std::string text(len, 'x');
            for (char& ch : text) {
                const auto r = static_cast<unsigned>(rng() % density);
                ch = r == 0 ? '\n' : r == 1 ? ':' : 'a';
            }
            INFO("len " << len << " density " << density);
            check_finder<byte_finder<'\n', byte_mask_scalar<'\n'>>>(text, '\n');
            check_finder<byte_finder<':', byte_mask_scalar<':'>>>(text, ':');
#if defined(PBXGATE_SIP_SSE2)
            check_finder<byte_finder<'\n', byte_mask_sse2<'\n'>>>(text, '\n');
            check_finder<byte_finder<':', byte_mask_sse2<':'>>>(text, ':');
#endif
        }
    }
}

TEST_CASE("sip line scan: find_char matches string_view::find") {
    std::mt19937 rng(3);
    for (std::size_t len = 0; len < 80; ++len) {
        std::string s(len, 'a');
        for (char& ch : s) ch = (rng() % 13 == 0) ? ';' : 'a';
        const std::string_view v(s);
        for (std::size_t from = 0; from <= len + 1; ++from) REQUIRE(find_char(v, ';', from) == v.find(';', from));
    }
}
