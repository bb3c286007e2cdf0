// One policy file applied over what the files it extends already defined.
#pragma once

#include <string>

#include <toml++/toml.h>

#include "policy/policy_draft.hpp"

namespace pbxgate::policy_detail {

// Validates `root` (every mistake reported, none fatal) and overrides the draft key by
// key with its valid values: [zones] lists and [engine] keys replace inherited ones,
// [services.NAME] keys override that service's keys or add a new service. `extends` is
// the loader's business and is only accepted here as a known key. `file_rank` grows
// from the deepest base file (0) to the top file.
void apply_policy_file(const toml::table& root, const std::string& file, unsigned file_rank,
                       policy_draft& draft, diagnostics& diag);

// Service names: [a-z0-9-]+, at most 32 characters (they appear in logs and metrics).
bool valid_service_name(std::string_view name) noexcept;

}  // namespace pbxgate::policy_detail
