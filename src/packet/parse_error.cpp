// Names of parse_error values, for logs, counters and test output.
#include <array>

#include "pbxgate/packet.hpp"

namespace pbxgate {
namespace {

// Indexed by the enum value; the names equal the enumerators so logs grep like the code.
constexpr std::array<std::string_view, parse_error_count> parse_error_names = {
    "none",
    "empty",
    "bad_version",
    "truncated_ip_header",
    "bad_ihl",
    "bad_total_length",
    "truncated_ext_header",
    "ext_chain_too_long",
    "truncated_l4_header",
    "bad_tcp_offset",
    "bad_udp_length",
    "tiny_fragment",
};
static_assert(static_cast<unsigned>(parse_error::tiny_fragment) + 1 == parse_error_count,
              "parse_error_names must list every parse_error");

}  // namespace

std::string_view to_string(parse_error e) noexcept {
    const auto i = static_cast<unsigned>(e);
    return i < parse_error_names.size() ? parse_error_names[i] : std::string_view{"unknown"};
}

}  // namespace pbxgate
