// Load, validate and compile a policy for a CLI command, printing every error to stderr.
#pragma once

#include <memory>
#include <string>

#include "pbxgate/compiled_policy.hpp"

namespace pbxgate::cli {

// nullptr when the policy has errors (already printed, one "FILE:LINE:COL: error: ..." per line).
std::unique_ptr<const compiled_policy> load_or_report(const std::string& path);

}  // namespace pbxgate::cli
