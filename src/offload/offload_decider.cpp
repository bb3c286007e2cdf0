#include "offload/offload_decider.hpp"

#include "util/flow_hash.hpp"

namespace pbxgate {

offload_action offload_decider::decide(const compiled_policy& policy, const packet_view& view,
                                       const packet_meta& meta, const decision& d, bool monitor) noexcept {
    // Only whole TCP/UDP flows: fragments, ICMP and malformed packets are judged each time.
    if (!view.ok() || !view.has_ports || view.is_fragment) return offload_action::none;
    const engine_settings& eng = policy.engine();
    const auto marks = offload_marks::from_mask(eng.mark_mask);
    if (!marks) return offload_action::none;
    // A packet that already carries one of our values came back after a repeat: the offload
    // rules are not installed (or not first). Offloading again would loop it forever.
    if (marks->is_ours(meta.mark)) return offload_action::none;
    // Drops are never offloaded: a new flow's conntrack entry dies with its dropped packet,
    // so a saved mark would be lost. Blocked and banned sources are dropped by the kernel
    // pre-filter sets instead (kernelset/prefilter_sets.hpp).
    (void)monitor;
    if (d.action == verdict::drop) return offload_action::none;
    if (d.why != reason::allowed && d.why != reason::pinhole && d.why != reason::media_signalling_peer)
        return offload_action::none;
    if (!policy.offloads(d.service)) return offload_action::none;
    if (eng.offload_after <= 1) return offload_action::accept;
    const std::uint64_t key = flow_hash(view.src, view.dst, view.sport, view.dport, view.protocol);
    slot& s = seen_[key & (table_size - 1)];
    if (s.key != key) s = slot{key, 0};
    if (++s.count < eng.offload_after) return offload_action::none;
    s = slot{};
    return offload_action::accept;
}

}  // namespace pbxgate
