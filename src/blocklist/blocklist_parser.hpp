// The text of one blocklist file: one IPv4/IPv6 address or prefix a line, `#` comments
// (whole-line or after the entry), blank lines, CRLF line ends, a UTF-8 byte order mark.
// Unlike the policy (all or nothing), a feed is applied line by line: a bad line is reported
// with its number and skipped, the rest applies, so one typo in a 100,000-line feed does not
// unblock the other 99,999. Never throws on bad input (std::bad_alloc aside).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pbxgate/address.hpp"

namespace pbxgate::blocklist {

struct entry {
    ip_prefix prefix;
    std::uint32_t line = 0;  // 1-based
};

struct line_error {
    std::uint32_t line = 0;
    std::string message;
};

struct parsed_file {
    std::vector<entry> entries;
    // The first max_reported_errors bad lines, in file order; malformed counts them all.
    std::vector<line_error> errors;
    std::uint64_t malformed = 0;
    std::uint64_t refused = 0;  // valid entries beyond max_entries, not applied
};

// One log line per bad line, up to this many per file: a feed that went wrong (an HTML error
// page saved as the list) must not flood the log.
inline constexpr std::size_t max_reported_errors = 20;
// The broadest prefixes a list may hold (a shorter one is a malformed line).
inline constexpr unsigned min_length_v4 = 8;
inline constexpr unsigned min_length_v6 = 16;
// A line longer than this is malformed without being looked at further.
inline constexpr std::size_t max_line_length = 512;

parsed_file parse_file(std::string_view text, std::size_t max_entries);

}  // namespace pbxgate::blocklist
