// The `bans.*` control commands, dispatched to the ban table (protect::ban_admin).
//   bans.list                                  -> {"bans":[{"source","reason","since","expires","count"}]}
//   bans.add {source, duration_s, reason?}     -> {"source": normalised prefix}
//   bans.remove {source}                       -> {"removed": true}   (error when not banned)
//   bans.flush                                 -> {"removed": N}
// `expires` is null for a ban without end (duration_s 0).
#pragma once

#include <cstdint>
#include <functional>

#include "control/control_commands.hpp"
#include "protect/ban_admin.hpp"

namespace pbxgate::control {

// Longest ban the admin can ask for: ten years (beyond that, ask for "until removed").
inline constexpr std::int64_t max_ban_seconds = 10LL * 365 * 24 * 3600;
inline constexpr std::size_t max_reason_bytes = 128;

// `table` is asked on every request: null while SIP protection is off (the commands then
// answer so). `now` gives Unix seconds.
void register_ban_commands(command_registry& registry, std::function<protect::ban_admin*()> table,
                           std::function<std::int64_t()> now);

}  // namespace pbxgate::control
