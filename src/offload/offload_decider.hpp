// offload_decider: per worker, decides whether a judged packet's verdict offloads its flow
// (NF_REPEAT with a mark, see offload_marks.hpp). Packet path: no lock, no allocation.
//
// offload_after = 1 (the default) needs no state: the first accepted packet of a flow of an
// offload service is the one that offloads it. With N > 1 a fixed, direct-mapped table of
// flow hashes counts accepted packets; a collision restarts a count, which only offloads
// a flow a few packets later, never wrongly.
#pragma once

#include <array>
#include <cstdint>

#include "offload/offload_marks.hpp"
#include "pbxgate/compiled_policy.hpp"
#include "pbxgate/packet.hpp"

namespace pbxgate {

enum class offload_action : std::uint8_t { none, accept, drop };

class offload_decider {
public:
    static constexpr std::size_t table_size = 4096;  // power of two

    // `d` is the policy's decision, `monitor` whether the engine gives only accepts.
    // Returns what the verdict should offload (none: an ordinary verdict).
    offload_action decide(const compiled_policy& policy, const packet_view& view, const packet_meta& meta,
                          const decision& d, bool monitor) noexcept;

private:
    struct slot {
        std::uint64_t key = 0;
        std::uint32_t count = 0;
    };
    std::array<slot, table_size> seen_{};
};

}  // namespace pbxgate
