// Fuzz target: one blocklist file's text (blocklist/blocklist_parser.hpp) and the set built
// from it. Checks: every entry is a valid prefix no broader than the limits, lines are in
// order and within the text, errors are bounded, the cap on entries holds, and every parsed
// entry's own address is found in the built set.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "blocklist/blocklist_parser.hpp"
#include "blocklist/blocklist_set.hpp"
#include "fuzz_support.hpp"

using namespace pbxgate;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    constexpr std::size_t cap = 64;
    const blocklist::parsed_file f = blocklist::parse_file(text, cap);
    const auto lines = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
    FUZZ_CHECK(f.entries.size() <= cap);
    FUZZ_CHECK(f.errors.size() <= blocklist::max_reported_errors);
    FUZZ_CHECK(f.malformed >= f.errors.size());
    FUZZ_CHECK(f.entries.size() + f.refused + f.malformed <= lines);
    std::uint32_t last = 0;
    for (const blocklist::entry& e : f.entries) {
        FUZZ_CHECK(e.line > last && e.line <= lines);
        last = e.line;
        const unsigned width = e.prefix.address.family == ip_family::v4 ? 32 : 128;
        const unsigned shortest =
            e.prefix.address.family == ip_family::v4 ? blocklist::min_length_v4 : blocklist::min_length_v6;
        FUZZ_CHECK(e.prefix.length >= shortest && e.prefix.length <= width);
        FUZZ_CHECK(parse_prefix(to_string(e.prefix)).has_value());
    }
    for (const blocklist::line_error& e : f.errors) FUZZ_CHECK(e.line >= 1 && e.line <= lines && !e.message.empty());
    const auto set = blocklist::blocklist_set::build({{"fuzz", f.entries}});
    for (const blocklist::entry& e : f.entries) FUZZ_CHECK(set->contains(e.prefix.address));
    return 0;
}
