// Flow offload: the engine judges the first packet(s) of a flow, then the kernel
// carries the rest.
//
// How a flow is offloaded. This kernel cannot set the conntrack mark from a verdict (no
// NETLINK_GLUE_CT), so the verdict that offloads a flow is NF_REPEAT with a packet mark:
// the packet goes through the hook again, and the rules at the top of pbxgate's chain
//   -m mark --mark ACCEPT/MASK -j CONNMARK --save-mark --nfmask MASK --ctmask MASK
//   -m connmark --mark ACCEPT/MASK -j ACCEPT
// copy our bits of the packet mark to the connection and accept it; every later packet of
// that connection (both directions) matches the second rule and never reaches the queue.
// Drop offload is the same pair with the DROP value and -j DROP.
//
// Which bits. Only the bits of engine.mark_mask (default 0x00f00000) are ever written,
// both on packets ((old & ~mask) | value) and on connections (--nfmask/--ctmask, and the
// ctnetlink update with CTA_MARK_MASK), so every mark bit the administrator uses
// elsewhere survives. The two values are the lowest and the second-lowest bit of the mask.
//
// Reloads. After a reload is published (and its grace period has passed, so no worker
// still judges with the old policy), src/offload/conntrack_revoker clears our bits on
// every connection that carries one of our values: each offloaded flow is judged once
// more by the new policy and offloaded again if it still passes. This is chosen over
// re-classifying each connection from its conntrack tuple because the tuple does not tell
// everything the worker saw (the loopback interface gives the localhost zone), so a
// second classifier could drift from the real one; clearing is correct by construction
// and costs one queued packet per live flow per reload.
#pragma once

#include <bit>
#include <cstdint>
#include <optional>

namespace pbxgate {

struct offload_marks {
    std::uint32_t mask = 0;
    std::uint32_t accept_value = 0;  // lowest bit of the mask
    std::uint32_t drop_value = 0;    // second-lowest bit of the mask

    // nullopt when the mask has fewer than two bits.
    static constexpr std::optional<offload_marks> from_mask(std::uint32_t mask) noexcept {
        if (std::popcount(mask) < 2) return std::nullopt;
        const std::uint32_t first = mask & (~mask + 1u);
        const std::uint32_t rest = mask & ~first;
        const std::uint32_t second = rest & (~rest + 1u);
        return offload_marks{mask, first, second};
    }

    // The packet mark that carries `value`: our bits replaced, every other bit kept.
    constexpr std::uint32_t apply(std::uint32_t old_mark, std::uint32_t value) const noexcept {
        return (old_mark & ~mask) | (value & mask);
    }
    constexpr std::uint32_t cleared(std::uint32_t old_mark) const noexcept { return old_mark & ~mask; }
    // True when the connection mark carries one of our two values.
    constexpr bool is_ours(std::uint32_t ct_mark) const noexcept {
        const std::uint32_t ours = ct_mark & mask;
        return ours == accept_value || ours == drop_value;
    }
};

}  // namespace pbxgate
