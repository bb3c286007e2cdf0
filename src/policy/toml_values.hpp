// Reading typed values out of toml++ nodes, reporting each mistake with its location.
// Every reader returns nullopt after reporting, so callers only decide what to keep.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "policy/policy_draft.hpp"

namespace pbxgate::policy_detail {

// Where a toml++ node or key starts, named with the file path as the user gave it.
source_location location_of(const std::string& file, const toml::source_region& region);

// "a string", "an integer"... for "must be X, not Y" messages.
std::string_view type_phrase(const toml::node& node);

// The context every reader reports in: the file, and what is being read, e.g. "`ports`
// of [services.sip]".
struct value_context {
    const std::string& file;
    diagnostics& diag;
    std::string what;
    source_location at(const toml::node& node) const { return location_of(file, node.source()); }
};

// Reports every key of `table` not in `known`, naming the known ones (and the closest
// one when it looks like a typo). Returns false when any was unknown.
bool check_known_keys(const toml::table& table, std::initializer_list<std::string_view> known,
                      std::string_view table_name, const std::string& file, diagnostics& diag);

std::optional<std::string> read_string(const toml::node& node, const value_context& ctx);
std::optional<bool> read_bool(const toml::node& node, const value_context& ctx);
std::optional<std::uint32_t> read_uint(const toml::node& node, std::uint32_t min, std::uint32_t max,
                                       const value_context& ctx);
// A 32-bit mark mask: a hex string ("0x00f00000") or an integer, with at least two bits set
// (flow offload needs two mark values: accept and drop).
std::optional<std::uint32_t> read_mark_mask(const toml::node& node, const value_context& ctx);
// A string that must be one of `choices`.
std::optional<std::string> read_choice(const toml::node& node, std::initializer_list<std::string_view> choices,
                                       const value_context& ctx);
// An array of CIDR prefixes (IPv4 or IPv6; a bare address is a host prefix).
std::optional<std::vector<ip_prefix>> read_prefix_list(const toml::node& node, const value_context& ctx);
// An array of zone names that may be allowed: internet, lan, trusted, localhost.
std::optional<zone_set> read_zone_list(const toml::node& node, const value_context& ctx);
// An array of ports: integers 1-65535, and "N" or "LO-HI" strings.
std::optional<std::vector<port_range>> read_port_list(const toml::node& node, const value_context& ctx);
// "tcp", "udp" or "tcp+udp".
std::optional<proto_mask> read_proto(const toml::node& node, const value_context& ctx);

std::string_view to_string(proto_mask p) noexcept;

}  // namespace pbxgate::policy_detail
