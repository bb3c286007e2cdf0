// Offline replay: judge captured packets with a compiled policy, as inbound to the host,
// tally the outcome, and time the judging loop alone (parse + classify).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "pbxgate/capture.hpp"
#include "pbxgate/compiled_policy.hpp"

namespace pbxgate {

namespace protect { class sip_guard; }
namespace media { class pinhole_table; }

struct replay_tally {
    std::uint64_t packets = 0;  // IP packets judged
    std::uint64_t accept = 0;
    std::uint64_t drop = 0;
    std::uint64_t skipped = 0;  // frames that are not IP (never reach NFQUEUE)
    std::array<std::uint64_t, 256> by_service{};          // indexed by service_id; [0] = no service
    std::array<std::uint64_t, zone_count> by_zone{};
    std::array<std::uint64_t, reason_count> by_reason{};

    void add(const decision& d) noexcept;
};

// Called for every judged packet, in capture order.
using replay_observer = std::function<void(const captured_packet&, const packet_view&, const decision&)>;

// One ban the SIP protection decided during a replay.
struct replay_ban {
    ip_prefix source;
    std::string reason;          // scanner, auth_failures, request_rate
    std::uint64_t index = 0;     // the packet that caused it (its frame number in its file)
    std::uint32_t duration_s = 0;
};

// SIP protection during a replay: the engine's state machine on capture time. Packets from
// a `pbx` address are the PBX's own (its responses are observed); the rest are inbound.
// Reuse one across captures to carry the state from one file to the next.
struct replay_sip {
    std::vector<ip_prefix> pbx;
    std::vector<replay_ban> bans;            // filled by replay_capture, in order
    std::shared_ptr<protect::sip_guard> guard;  // made on first use from the policy's [sip]
    std::shared_ptr<std::uint32_t> now;         // its clock: the latest capture time seen
    // Media pinholes on capture time: the SDP in the capture opens them, and RTP/UDPTL of a
    // `media = "negotiated"` service is judged pinhole / no_pinhole as the engine would.
    std::shared_ptr<media::pinhole_table> pinholes;  // made on first use from [media] capacity
};

// Judge every packet of `capture` once, adding to `tally`. With `sip`, the SIP protection
// stage runs too (bans drop later packets, and `sip->bans` lists them).
void replay_capture(const compiled_policy& policy, const capture_contents& capture, replay_tally& tally,
                    const replay_observer& observe = {}, replay_sip* sip = nullptr);

// Packets laid out back to back in one buffer, the way a receive ring holds them, so the
// timing loop measures judging rather than pointer chasing across heap blocks.
class packet_arena {
public:
    void add(const captured_packet& p);
    std::size_t size() const noexcept { return offsets_.size(); }
    struct entry { std::uint32_t offset, captured, wire_len; };
    std::span<const entry> entries() const noexcept { return offsets_; }
    const std::uint8_t* data() const noexcept { return bytes_.data(); }

private:
    std::vector<std::uint8_t> bytes_;
    std::vector<entry> offsets_;
};

struct timing {
    double best_ns_per_packet = 0;    // best of the passes
    double median_ns_per_packet = 0;
    unsigned passes = 0;
    std::uint64_t packets_per_pass = 0;
};

// Times parse + classify over the arena: each pass judges at least `min_packets_per_pass`
// packets (cycling through the arena), `passes` passes; empty arena -> all zero.
timing time_judging(const compiled_policy& policy, const packet_arena& arena, unsigned passes = 7,
                    std::uint64_t min_packets_per_pass = 1'000'000);

}  // namespace pbxgate
