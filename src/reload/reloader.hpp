// Reload: load -> validate -> compile off the packet path, then publish. A policy with
// errors changes nothing: the running one stays in force. Keys a running engine cannot
// apply keep their running values (reload/engine_keys.hpp); the rest is applied.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "pbxgate/policy.hpp"
#include "reload/policy_slot.hpp"

namespace pbxgate {

struct reload_outcome {
    bool ok = false;
    std::uint64_t generation = 0;         // the generation in force afterwards
    std::vector<diagnostic> errors;       // why it was refused
    std::string summary;                  // what changed, when ok (refused keys included)
    std::vector<std::string> kept;        // one line per restart-only key that changed and was not applied
    std::vector<std::string> files;       // every file the policy now reads (to watch)
    std::chrono::microseconds duration{0};  // load + compile + publish (grace period included), when ok
};

// Must be called from a thread that is not an RCU reader (it waits for a grace period).
reload_outcome reload_policy(const std::string& path, policy_slot& slot, const file_reader& read = filesystem_reader());

}  // namespace pbxgate
