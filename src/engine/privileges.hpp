// Capability checks, so a missing privilege gets a clear message instead of a bare EPERM.
#pragma once

namespace pbxgate {

// True when the calling thread has CAP_NET_ADMIN in its effective set.
bool has_net_admin() noexcept;

}  // namespace pbxgate
