// Every [engine] key, and whether a running engine can apply a change to it.
//
// Some keys are fixed once the engine runs: they shaped the NFQUEUE binding (fail,
// queue_maxlen, copy_range), the steering rules `pbxgate-rules` installed at start
// (placement, protected, mark_mask), or a socket opened at start (metrics).
// Applying them at a reload would be half a change: mark_mask, for one, would mark new
// flows with bits the installed rules never match, and revoke nothing offloaded under the
// old bits. A reload therefore keeps their running values and says so, one line per key;
// everything else in the file is applied.
//
// One table, one row per key: a new [engine] key is one more row (the unit test counts
// engine_settings' fields against the rows, so a forgotten key fails the build's tests).
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pbxgate/policy.hpp"

namespace pbxgate {

struct engine_key {
    std::string_view name;  // as written in [engine]
    bool needs_restart;
    std::string (*show)(const engine_settings&);                     // the value, as an admin would write it
    bool (*same)(const engine_settings&, const engine_settings&);
    void (*keep)(engine_settings& next, const engine_settings& running);  // next takes the running value
};

std::span<const engine_key> engine_keys();

// Gives `next` the running value of every restart-only key that differs, and returns one
// line per such key: "mark_mask changed: needs a restart; keeping 0x00f00000".
std::vector<std::string> keep_restart_only_keys(engine_settings& next, const engine_settings& running);

}  // namespace pbxgate
