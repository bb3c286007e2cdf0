// The media stage of the packet path, shared by the engine's workers and the replay:
//  - learn(): from a SIP message the SIP stage parsed (either direction), open, move and
//    close pinholes (SDP offers and answers, BYE, CANCEL, final errors);
//  - judge(): after classify, a packet of a `media = "negotiated"` service from one of
//    [media] zones is accepted only by a pinhole (reason pinhole) or from a TLS/WSS
//    signalling peer (media_signalling_peer); else it is dropped (no_pinhole).
// No lock, no allocation, never throws.
#pragma once

#include <cstdint>

#include "media/pinhole_table.hpp"
#include "pbxgate/compiled_policy.hpp"
#include "pbxgate/packet.hpp"
#include "sip/sip_message.hpp"
#include "util/single_writer_counter.hpp"

namespace pbxgate::media {

// Per-worker counters (single writer, relaxed stores, as worker_counters).
struct media_counters {
    using counter = pbxgate::counter;
    counter sdp_bodies{0};     // SDP bodies read
    counter sdp_unreadable{0}; // a body said application/sdp but did not parse
    counter dialog_ends{0};    // BYE, CANCEL, final errors seen
};

timeouts timeouts_of(const compiled_policy& policy) noexcept;

// `m` parsed from a SIP packet; `peer` is its far end (the source of a packet entering the
// PBX, the destination of one leaving it); `from_pbx` when it leaves the PBX.
void learn(const compiled_policy& policy, pinhole_table& table, const sip::message_view& m, const ip_address& peer,
           bool from_pbx, seconds_t now, media_counters& counters) noexcept;

// Does the media check apply to this decision (accepted by the port policy, a negotiated
// service, from one of its zones)?
inline bool applies(const compiled_policy& policy, const decision& d) noexcept {
    return d.action == verdict::accept && d.why == reason::allowed &&
           (policy.media_zones(d.service) & zone_bit(d.from)) != 0;
}

// Judges a packet applies() said yes to: updates `d` (pinhole, media_signalling_peer or a
// no_pinhole drop). Returns the pinhole's slot (no_slot when none).
std::uint32_t judge(const compiled_policy& policy, pinhole_table& table, const packet_view& v, seconds_t now,
                    decision& d) noexcept;

}  // namespace pbxgate::media
