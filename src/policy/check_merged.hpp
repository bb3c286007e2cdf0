// Checks that only make sense once every file is merged: a service complete, no port
// claimed twice, the service count fitting a one-byte id, router placement complete.
#pragma once

#include "policy/policy_draft.hpp"

namespace pbxgate::policy_detail {

// At most 255 enabled services: service ids are one byte and 0 means "no service".
inline constexpr std::size_t max_enabled_services = 255;

void check_merged(const policy_draft& draft, diagnostics& diag);

}  // namespace pbxgate::policy_detail
