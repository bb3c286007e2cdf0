#include "media/media_stage.hpp"

#include "sip/sdp.hpp"

namespace pbxgate::media {
timeouts timeouts_of(const compiled_policy& policy) noexcept {
    const media_settings& m = policy.source().media;
    return timeouts{m.grace_s, m.idle_s};
}

void learn(const compiled_policy& policy, pinhole_table& table, const sip::message_view& m, const ip_address& peer,
           bool from_pbx, seconds_t now, media_counters& counters) noexcept {
    const timeouts t = timeouts_of(policy);
    if (m.call_id.empty()) return;
    if (m.is_request && (m.request_method == sip::method::bye || m.request_method == sip::method::cancel)) {
        bump(counters.dialog_ends);
        table.on_dialog_end(m.call_id, now, t);
        return;
    }
    if (!m.is_request && m.cseq_method == sip::method::invite && m.status >= 300) {
        bump(counters.dialog_ends);
        table.on_dialog_end(m.call_id, now, t, true);
        return;
    }
    if (!m.body.empty() && sip::is_sdp_content_type(m.content_type)) {
        sip::sdp_view sdp;
        if (sip::parse_sdp(m.body, sdp) == sip::sdp_status::ok) {
            bump(counters.sdp_bodies);
            table.on_sdp(sdp_seen{m.call_id, from_pbx, peer, &sdp, now});
        } else {
            bump(counters.sdp_unreadable);
        }
    }
    if (!m.is_request && m.cseq_method == sip::method::invite && m.status >= 200 && m.status < 300)
        table.on_established(m.call_id);
}

std::uint32_t judge(const compiled_policy& policy, pinhole_table& table, const packet_view& v, seconds_t now,
                    decision& d) noexcept {
    const timeouts t = timeouts_of(policy);
    const std::uint32_t slot = table.find(v.dport, v.src, now, t);
    if (slot != no_slot) {
        table.touch(slot, now);
        d.why = reason::pinhole;
        return slot;
    }
    if (table.is_signalling_peer(v.src, now, t)) {
        d.why = reason::media_signalling_peer;
        return no_slot;
    }
    d.action = verdict::drop;
    d.why = reason::no_pinhole;
    return no_slot;
}

}  // namespace pbxgate::media
