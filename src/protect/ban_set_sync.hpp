// Keeps the kernel ban sets (pbxgate-ban4 / pbxgate-ban6, created by `pbxgate rules` and
// matched with DROP before the queue) equal to the ban table: a banned source is then
// dropped by the kernel and never reaches a worker. Runs on the engine's main loop timer,
// never on the packet path.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernelset/kernel_set.hpp"
#include "kernelset/prefilter_sets.hpp"
#include "protect/ban_admin.hpp"

namespace pbxgate::protect {

// A kernel timeout this far from the ban's remaining time is set anew (a ban extended or
// shortened); closer ones are left alone so each sync does not rewrite every member.
inline constexpr std::uint32_t ban_timeout_slack_s = 5;

struct ban_change {
    ip_prefix source;
    std::uint32_t timeout_s = 0;  // adds: seconds left, 0 for a ban until removed
};

struct ban_plan {
    std::vector<ban_change> add;     // new members, and members whose timeout is set anew
    std::vector<ip_prefix> remove;   // in the kernel set, no longer banned
};

// The changes that make one family's kernel set equal to `bans` at `now_unix`. Bans of the
// other family and bans already expired are ignored.
ban_plan plan_ban_changes(const std::vector<ban_view>& bans, const std::vector<kernelset::entry>& kernel,
                          ip_family family, std::int64_t now_unix);

struct ban_sync_report {
    std::size_t added = 0;
    std::size_t removed = 0;
    bool sets_absent = false;  // the rules (and so the sets) are not installed
    std::string error;         // first failure, empty when none
};

class ban_set_sync {
public:
    ban_set_sync(const ban_admin& bans, kernelset::set_backend& sets) : bans_(bans), sets_(sets) {}
    ban_sync_report sync(std::int64_t now_unix);

private:
    const ban_admin& bans_;
    kernelset::set_backend& sets_;
};

}  // namespace pbxgate::protect
