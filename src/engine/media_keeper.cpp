#include "engine/media_keeper.hpp"

#include <netinet/in.h>
#include <spdlog/spdlog.h>

#include "media/media_report.hpp"
#include "media/media_stage.hpp"
#include "offload/conntrack_revoker.hpp"
#include "protect/sip_guard.hpp"

namespace pbxgate {

media_keeper::flow_key media_keeper::key_of(std::uint16_t port, const ip_address& remote) {
    const ip_address a = remote.unmapped();
    return {port, std::string(reinterpret_cast<const char*>(a.bytes.data()), a.family == ip_family::v4 ? 4 : 16)};
}

void media_keeper::register_commands(control::command_registry& registry,
                                     std::function<const compiled_policy*()> current) {
    registry.add("media.pinholes", "the open media pinholes", [this, current](const control::request&) {
        const compiled_policy* p = current();
        const media::timeouts t = p ? media::timeouts_of(*p) : media::timeouts{};
        return control::reply::success(media::pinholes_json(table_, protect::sip_guard::monotonic_now(), t));
    });
}

void media_keeper::tick(const compiled_policy& policy) {
    const auto now = std::chrono::steady_clock::now();
    if (now < next_sweep_) return;
    next_sweep_ = now + std::chrono::seconds(1);
    const auto marks = offload_marks::from_mask(policy.engine().mark_mask);
    // The kernel's view of offloaded flows, refreshed every 30 s: an offloaded pinhole past
    // its idle time stays open while conntrack still holds its flow (the engine no longer
    // sees its packets), and closes once the kernel's own UDP timeout removed it.
    const bool dump_due = marks && (now >= next_dump_ || !to_revoke_.empty());
    if (dump_due) {
        std::set<flow_key> alive;
        const auto pick = [&](const ct_entry& e) {
            const auto t = parse_ct_tuple(e.tuple_orig);
            if (!t || t->protocol != IPPROTO_UDP) return false;
            if (marks->is_ours(e.mark)) {
                alive.insert(key_of(t->dport, t->src));
                alive.insert(key_of(t->sport, t->dst));
            }
            for (const media::closed_pinhole& c : to_revoke_) {
                if ((t->dport == c.port && t->src.unmapped() == c.remote.unmapped()) ||
                    (t->sport == c.port && t->dst.unmapped() == c.remote.unmapped()))
                    return true;
            }
            return false;
        };
        const revoke_result r = revoke_offloads_matching(*marks, pick);
        if (!r.error.empty()) {
            spdlog::warn("media pinholes: conntrack: {}", r.error);
        } else {
            if (r.revoked) spdlog::info("media pinholes: {} offloaded flow(s) of closed pinholes sent back to the engine",
                                        r.revoked);
            revoked_ += r.revoked;
            offloaded_alive_ = std::move(alive);
        }
        to_revoke_.clear();
        next_dump_ = now + std::chrono::seconds(30);
    }
    const auto alive_check = [this](std::uint16_t port, const ip_address& remote) {
        return offloaded_alive_.count(key_of(port, remote)) != 0;
    };
    table_.sweep(protect::sip_guard::monotonic_now(), media::timeouts_of(policy), alive_check, to_revoke_);
}

std::string media_keeper::drop_note(const drop_record& rec, const compiled_policy& policy) const {
    if (rec.kind != record_kind::drop || rec.why != reason::no_pinhole) return {};
    return media::no_pinhole_note(table_, rec.dport, rec.src, protect::sip_guard::monotonic_now(),
                                  media::timeouts_of(policy));
}

}  // namespace pbxgate
