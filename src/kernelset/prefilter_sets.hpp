// The sets of the kernel pre-filter: `pbxgate rules` creates them and matches them with
// DROP before the queue; the engine keeps their contents (blocked zone at each reload,
// bans on its timer).
#pragma once

#include <string_view>
#include <vector>

#include "kernelset/kernel_set.hpp"
#include "pbxgate/policy.hpp"

namespace pbxgate::kernelset {

inline constexpr std::string_view blocked_set_v4 = "pbxgate-blocked4";
inline constexpr std::string_view blocked_set_v6 = "pbxgate-blocked6";
inline constexpr std::string_view ban_set_v4 = "pbxgate-ban4";
inline constexpr std::string_view ban_set_v6 = "pbxgate-ban6";

inline std::string_view blocked_set(ip_family f) noexcept { return f == ip_family::v4 ? blocked_set_v4 : blocked_set_v6; }
inline std::string_view ban_set(ip_family f) noexcept { return f == ip_family::v4 ? ban_set_v4 : ban_set_v6; }

inline set_spec blocked_spec(ip_family f) { return {std::string(blocked_set(f)), f, false, true}; }
inline set_spec ban_spec(ip_family f) { return {std::string(ban_set(f)), f, true, true}; }

// The policy's blocked zone, one family, as set members (a /0 split in halves).
inline std::vector<entry> blocked_members(const policy& pol, ip_family f) {
    std::vector<entry> out;
    for (const ip_prefix& p : pol.zones.blocked)
        if (p.address.family == f)
            for (const ip_prefix& q : storable(p)) out.push_back({q, 0, 0, 0});
    return out;
}

}  // namespace pbxgate::kernelset
