// Which [crowdsec] keys a running engine applies at a reload. The client, its secrets and
// its HTTP endpoint are set up once, at start, before the engine drops root (the key files
// are root's): adding or removing the table, api_url, bouncer_key_file and
// machine_credentials_file need a restart; poll_seconds applies at the next poll.
#pragma once

#include <string>
#include <vector>

#include "pbxgate/policy.hpp"

namespace pbxgate {

// Gives `next` the running value of every restart-only key that differs; one line per key.
std::vector<std::string> keep_restart_only_crowdsec_keys(crowdsec_settings& next, const crowdsec_settings& running);

}  // namespace pbxgate
