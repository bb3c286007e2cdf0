#include "protect/sip_stage.hpp"

// netinet/in.h first: linux/netfilter.h pulls in linux/in.h, which defers to it only then.
#include <netinet/in.h>
#include <linux/netfilter.h>

namespace pbxgate::protect {
namespace {

constexpr std::uint8_t tcp_syn = 0x02;
constexpr std::uint8_t tcp_ack = 0x10;

}  // namespace

bool leaves_pbx(const compiled_policy& policy, const packet_view& view, std::uint8_t hook) noexcept {
    if (hook == NF_INET_LOCAL_OUT) return true;
    // Router: only the rule for the PBX's SIP responses queues packets from a protected
    // address; the cheap port test first keeps the prefix lookup off the RTP path.
    return hook == NF_INET_FORWARD && policy.engine().place == placement::router && view.has_ports &&
           policy.sip_kind_of(policy.service_for(view.protocol, view.sport)) != compiled_policy::sip_kind::none &&
           policy.is_protected(view.src);
}

guard_outcome sip_stage(const compiled_policy& policy, sip_guard& guard, const sip_stage_input& in, decision& d,
                        sip_counters& counters, sip::message_view& scratch) noexcept {
    guard_outcome out;
    const packet_view& v = *in.view;
    if (!v.ok() || !v.has_ports) return out;
    const bool tcp = v.protocol == IPPROTO_TCP;
    if (in.outbound) {
        // The PBX's answers, queued only to be observed: always accepted, even when SIP
        // protection was turned off by a reload while the steering rules still queue them.
        const service_id svc = policy.service_for(v.protocol, v.sport);
        d = decision{verdict::accept, reason::allowed, policy.zone_of(v.dst, packet_meta{}), svc};
        if (!policy.sip_enabled() || policy.sip_kind_of(svc) != compiled_policy::sip_kind::readable) return out;
        if (tcp && !sip::starts_message(v.payload, v.payload_len)) return out;
        sip::message_view& m = scratch;
        if (sip::parse_message(v.payload, v.payload_len, m) != sip::parse_status::ok) return out;
        // The PBX's own SDP (its answers, and its requests on connections a peer opened).
        if (in.pinholes != nullptr) media::learn(policy, *in.pinholes, m, v.dst, true, in.now, *in.media);
        if (m.is_request) return out;
        bump(counters.responses[m.status / 100]);
        out = guard.on_response(policy.source().sip, v.dst, d.from, m, in.now, in.monitor);
        if (out.banned_now) {
            bump(counters.bans[static_cast<unsigned>(out.event.why)]);
            d.why = reason::auth_failures;
        }
        return out;
    }

    // Inbound: only what the port policy lets through reaches the SIP stage.
    if (!policy.sip_enabled() || (!tcp && v.protocol != IPPROTO_UDP)) return out;
    if (d.action != verdict::accept || d.why != reason::allowed) return out;
    const sip_settings& s = policy.source().sip;
    const auto kind = policy.sip_kind_of(d.service);
    if (kind == compiled_policy::sip_kind::none) return out;
    if ((s.protect_zones & zone_bit(d.from)) == 0) {
        // Not guarded, but its SDP still opens pinholes (a site may negotiate LAN media too).
        if (in.pinholes != nullptr && kind == compiled_policy::sip_kind::readable &&
            (!tcp || sip::starts_message(v.payload, v.payload_len))) {
            sip::message_view& m = scratch;
            if (sip::parse_message(v.payload, v.payload_len, m) == sip::parse_status::ok)
                media::learn(policy, *in.pinholes, m, v.src, false, in.now, *in.media);
        }
        return out;
    }

    const auto judged = [&](const guard_outcome& o) {
        if (o.banned_now) bump(counters.bans[static_cast<unsigned>(o.event.why)]);
        if (o.judged && o.action == verdict::drop) d = decision{verdict::drop, o.why, d.from, d.service};
        return o;
    };
    const auto ban_check = [&] {
        guard_outcome o;
        if (guard.is_banned(v.src, in.now, in.monitor)) {
            o.action = verdict::drop;
            o.why = reason::banned;
            o.judged = true;
        }
        return judged(o);
    };

    if (kind == compiled_policy::sip_kind::encrypted) {
        if (tcp && (v.tcp_flags & (tcp_syn | tcp_ack)) == tcp_syn) {
            bump(counters.connection_attempts);
            return judged(guard.on_connection_attempt(s, v.src, d.from, in.now, in.monitor));
        }
        const guard_outcome o = ban_check();
        // Its SDP is encrypted: a peer whose connection got past the handshake (a segment
        // with ACK set) may send media (reason media_signalling_peer).
        if (in.pinholes != nullptr && d.action == verdict::accept && tcp && (v.tcp_flags & tcp_ack) != 0)
            in.pinholes->on_signalling_peer(v.src, in.now);
        return o;
    }
    if (tcp && !sip::starts_message(v.payload, v.payload_len)) {
        // A handshake, an ACK, a body or a keepalive segment: no new message starts here.
        return ban_check();
    }
    sip::message_view& m = scratch;
    const sip::parse_status st = sip::parse_message(v.payload, v.payload_len, m);
    if (st == sip::parse_status::keepalive) {
        bump(counters.keepalives);
        return ban_check();
    }
    if (st != sip::parse_status::ok) {
        bump(counters.malformed_sip);
        return ban_check();
    }
    if (!m.is_request) {
        bump(counters.responses[m.status / 100]);  // a peer answering the PBX (a trunk)
        const guard_outcome r = ban_check();
        if (in.pinholes != nullptr && d.action == verdict::accept)
            media::learn(policy, *in.pinholes, m, v.src, false, in.now, *in.media);
        return r;
    }
    bump(counters.requests[static_cast<unsigned>(m.request_method)][static_cast<unsigned>(d.from)]);
    const guard_outcome o = guard.on_request(s, v.src, d.from, m, in.now, in.monitor);
    if (o.retransmission) bump(counters.retransmissions);
    const guard_outcome r = judged(o);
    if (in.pinholes != nullptr && d.action == verdict::accept)
        media::learn(policy, *in.pinholes, m, v.src, false, in.now, *in.media);
    return r;
}

}  // namespace pbxgate::protect
