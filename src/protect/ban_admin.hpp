// What the admin side (control socket, kernel set sync) needs of the ban table. The per-source
// SIP state implements it; it is called from the engine's control thread, never from a worker.
#pragma once

#include <pbxgate/address.hpp>

#include <cstddef>
#include <cstdint>
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
};

}  // namespace pbxgate::protect
