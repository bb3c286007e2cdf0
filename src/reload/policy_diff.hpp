// A one-line summary of what a reload changed, for the log; every key that differs is
// named: "sip moved 5060/udp -> 5160/udp; ssh allow localhost, trusted, lan -> localhost;
// +fax 3000/tcp; -ftp; lan 5 -> 6 prefixes; drop_log_per_second 20 -> 50;
// mark_mask 0x00f00000 -> 0x0f000000 (needs a restart)".
#pragma once

#include <string>

#include "pbxgate/policy.hpp"

namespace pbxgate {

// `after` as the files say, before restart-only keys are set back (reload/engine_keys.hpp),
// so that the summary shows what the admin changed, applied or not.
std::string describe_policy_change(const policy& before, const policy& after);

}  // namespace pbxgate
