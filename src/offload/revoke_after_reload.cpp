#include <spdlog/spdlog.h>

#include "offload/conntrack_revoker.hpp"

namespace pbxgate {

std::uint64_t revoke_offloads_after_reload(std::uint32_t mark_mask) {
    const auto marks = offload_marks::from_mask(mark_mask);
    if (!marks) return 0;  // the loader refuses such a mask; nothing can carry our marks
    const revoke_result r = revoke_offloads(*marks);
    if (!r.error.empty()) {
        spdlog::error("flow offload: could not revoke offloaded flows after the reload ({}); they keep the "
                      "verdict they had until they end",
                      r.error);
        return 0;
    }
    if (r.revoked || r.failed)
        spdlog::info("flow offload: {} offloaded connection(s) of {} sent back to the engine ({} already gone)",
                     r.revoked, r.seen, r.failed);
    return r.revoked;
}

}  // namespace pbxgate
