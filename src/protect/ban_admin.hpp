// What the admin side (control socket, kernel set sync) needs of the ban table. The per-source
// SIP state implements it; it is called from the engine's control thread, never from a worker.
#pragma once

#include <pbxgate/address.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pbxgate::protect {

// One ban as the admin sees it (`pbxgate bans list`).
struct ban_view {
    ip_prefix source;
    std::string reason;             // scanner, auth_failures, request_rate, manual, crowdsec
    std::int64_t since_unix = 0;
    std::int64_t expires_unix = 0;  // 0: until removed
    std::uint32_t count = 0;        // offences that led to it
    std::string origin{};           // crowdsec: the decision's origin (cscli, crowdsec, CAPI...)
    std::string scenario{};         // crowdsec: the decision's scenario
};

// Where a ban shared by another system came from (a CrowdSec decision).
struct ban_origin {
    std::string origin;
    std::string scenario;
};

class ban_admin {
public:
    virtual ~ban_admin() = default;
    virtual std::vector<ban_view> list_bans(std::int64_t now_unix) const = 0;
    // Empty on success, else an error an admin can act on.
    virtual std::string add_ban(const ip_prefix& source, std::int64_t duration_s,
                                const std::string& reason, std::int64_t now_unix) = 0;
    virtual bool remove_ban(const ip_prefix& source) = 0;
    virtual std::size_t flush_bans() = 0;
    // A ban with its origin and scenario (shown by list_bans). The default forgets them.
    virtual std::string add_ban_from(const ip_prefix& source, std::int64_t duration_s, const std::string& reason,
                                     const ban_origin& from, std::int64_t now_unix) {
        (void)from;
        return add_ban(source, duration_s, reason, now_unix);
    }
    // The ban in force on `source` (the whole source it belongs to), if any. The default
    // scans list_bans().
    virtual std::optional<ban_view> find_ban(const ip_prefix& source, std::int64_t now_unix) const {
        for (ban_view& v : list_bans(now_unix))
            if (v.source == source) return std::move(v);
        return std::nullopt;
    }
};

}  // namespace pbxgate::protect
