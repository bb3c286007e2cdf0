// The SIP stage of the packet path, shared by the engine's workers and the replay so both run
// the same state machine: after classify, for SIP-port packets only (the RTP path never gets
// here), read the SIP message and let the guard judge the source or learn from the PBX.
#pragma once

#include <array>
#include <cstdint>

#include "pbxgate/compiled_policy.hpp"
#include "pbxgate/packet.hpp"
#include "media/media_stage.hpp"
#include "protect/sip_guard.hpp"
#include "util/single_writer_counter.hpp"

namespace pbxgate::protect {

// Per-worker SIP counters (single writer, relaxed stores, as worker_counters).
struct sip_counters {
    using counter = pbxgate::counter;
    std::array<std::array<counter, zone_count>, sip::method_count> requests{};  // [method][zone]
    std::array<counter, 7> responses{};     // [status / 100]: 1xx..6xx (0 unused)
    std::array<counter, ban_reason_count> bans{};
    counter malformed_sip{0};               // not SIP on a SIP port: judged by the port policy
    counter connection_attempts{0};         // TCP SYNs to a TLS/WSS SIP port
    counter retransmissions{0};
    counter keepalives{0};
};

struct sip_stage_input {
    const packet_view* view = nullptr;
    bool outbound = false;   // leaving the PBX (host OUTPUT, router FORWARD from a protected address)
    bool monitor = false;
    seconds_t now = 0;
    // Media pinholes: SDP and dialog ends are handed to them (none: media not tracked).
    media::pinhole_table* pinholes = nullptr;
    media::media_counters* media = nullptr;
};

// `d` is the port policy's decision (inbound) and is replaced when the SIP stage decides.
// Outbound SIP from the PBX is observed and always accepted. Returns the guard's outcome
// (banned_now/event set when this packet banned its source). The message is read into
// `scratch`, the caller's view reused packet after packet: building a fresh view per packet
// costs as much as reading a short start line.
guard_outcome sip_stage(const compiled_policy& policy, sip_guard& guard, const sip_stage_input& in, decision& d,
                        sip_counters& counters, sip::message_view& scratch) noexcept;

// Does this packet leave the PBX? Host placement: the OUTPUT hook; router: FORWARD from a
// protected address.
bool leaves_pbx(const compiled_policy& policy, const packet_view& view, std::uint8_t hook) noexcept;

}  // namespace pbxgate::protect
