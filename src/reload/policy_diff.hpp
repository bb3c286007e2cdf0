// A one-line summary of what a reload changed, for the log:
// "sip moved 5060/udp -> 5160/udp; ssh allow localhost,trusted,lan -> localhost; +fax; -ftp; lan 5 -> 6 prefixes"
#pragma once

#include <string>

#include "pbxgate/policy.hpp"

namespace pbxgate {

std::string describe_policy_change(const policy& before, const policy& after);

}  // namespace pbxgate
