// Load, validate and compile a policy for a CLI command, printing every error to stderr.
#pragma once

#include <memory>
#include <string>

#include "pbxgate/compiled_policy.hpp"

namespace pbxgate::cli {

// nullptr when the policy has errors (already printed, one "FILE:LINE:COL: error: ..." per line).
std::unique_ptr<const compiled_policy> load_or_report(const std::string& path);

// "ssh" -> "22/tcp", "rtp" -> "10000-20000/udp", "tftp" -> "69/tcp+udp"
std::string describe_ports(const service_def& s);
// "localhost, trusted, lan"
std::string describe_zones(zone_set zones);

}  // namespace pbxgate::cli
