// Capability checks, so a missing privilege gets a clear message instead of a bare EPERM,
// and the drop to least privilege once the queues are bound.
#pragma once

#include <cstdint>
#include <string>

namespace pbxgate {

// True when the calling thread has CAP_NET_ADMIN in its effective set.
bool has_net_admin() noexcept;

// After the NFQUEUE sockets are bound: optionally become `user` (its uid, gid and no
// supplementary groups), then keep CAP_NET_ADMIN alone (the kernel checks it on every
// verdict sent on an nfnetlink socket), empty the bounding and ambient sets where we
// may, and set no_new_privs. Must run before any other thread starts: capabilities are
// per thread, and threads created later inherit the reduced sets.
// Throws std::runtime_error with an actionable message when it cannot (unknown user, no
// CAP_SETUID for a user switch, capset refused). Empty `user`: keep the current uid.
void drop_privileges(const std::string& user);

// What the calling thread holds now (the startup log line says it after the drop).
struct privilege_state {
    std::uint64_t effective = 0;  // capability bit masks of the calling thread
    std::uint64_t permitted = 0;
    bool no_new_privs = false;
    unsigned uid = 0;
    unsigned gid = 0;
};
privilege_state current_privileges() noexcept;

}  // namespace pbxgate
