// [asterisk] import = true: the ports of the services Asterisk owns (sip, sip-tls, rtp,
// udptl, iax, webrtc, webrtc-tls) come from its configuration directory instead of the
// shipped defaults. A port set in a site file wins (with a warning when Asterisk
// disagrees); zones and allow lists always stay the policy's.
#pragma once

#include <string>
#include <vector>

#include "asterisk/port_mapping.hpp"
#include "policy/policy_draft.hpp"

namespace pbxgate::policy_detail {

// Applies an import result to the merged draft. Services whose ports the site files did
// not set take Asterisk's ports (none: the service is disabled, nothing listens); the
// imported ranges (rtp, udptl) then leave to other services the ports those hold, as
// Asterisk skips ports already bound. Disagreements go to `warnings`.
void apply_import(policy_draft& draft, const asterisk::import_result& imported, std::vector<diagnostic>& warnings);

// Runs the import when the draft asks for it. Errors (a file Asterisk would refuse, a
// missing directory) go to `diag`: the policy is then refused and the running one stays.
// Returns the Asterisk files to watch.
std::vector<std::string> import_asterisk_ports(policy_draft& draft, diagnostics& diag,
                                               std::vector<diagnostic>& warnings);

}  // namespace pbxgate::policy_detail
