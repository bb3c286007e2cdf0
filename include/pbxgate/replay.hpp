// Offline replay: judge captured packets with a compiled policy, as inbound to the host,
// tally the outcome, and time the judging loop alone (parse + classify).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "pbxgate/capture.hpp"
#include "pbxgate/compiled_policy.hpp"

namespace pbxgate {

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

// Judge every packet of `capture` once, adding to `tally`.
void replay_capture(const compiled_policy& policy, const capture_contents& capture, replay_tally& tally,
                    const replay_observer& observe = {});

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
