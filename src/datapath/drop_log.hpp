// The drop log: one line per dropped flow, rate-limited, that says why.
//
// The packet path must not format text or allocate, so a worker only offers a fixed-size
// record to its own single-producer/single-consumer ring; the main thread drains the rings,
// formats the lines with spdlog, and enforces the lines-per-second limit. A small
// direct-mapped table on the worker side remembers recently logged flows, so a flood from
// one flow costs one record, not one per packet.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include "pbxgate/packet.hpp"
#include "pbxgate/verdict.hpp"
#include "protect/sip_guard.hpp"

namespace pbxgate {

// What a ring record reports: a dropped flow, a SIP ban (one line per ban, never rate-limited
// away), or a socket overrun of its queue; the worker never logs itself.
enum class record_kind : std::uint8_t { drop, ban, queue_overrun };

struct drop_record {
    record_kind kind = record_kind::drop;
    std::uint64_t overruns = 0;       // queue_overrun: the queue's ENOBUFS count so far
    ip_address src;
    ip_address dst;
    std::uint16_t sport = 0;
    std::uint16_t dport = 0;
    std::uint8_t protocol = 0;
    zone from = zone::internet;
    reason why = reason::no_service;
    service_id service = no_service_id;
    bool monitor = false;             // "would drop": the engine accepted it anyway
    std::uint64_t generation = 0;     // which policy judged it (service ids are per generation)
    parse_error error = parse_error::none;
    protect::ban_event ban;           // ban: source, reason, evidence, duration
};

// Single producer (one worker), single consumer (the main thread).
class drop_ring {
public:
    static constexpr std::size_t capacity = 1024;  // power of two

    bool push(const drop_record& r) noexcept;  // false when full
    bool pop(drop_record& out) noexcept;

private:
    std::array<drop_record, capacity> slots_{};
    alignas(64) std::atomic<std::size_t> head_{0};  // next write (producer)
    alignas(64) std::atomic<std::size_t> tail_{0};  // next read (consumer)
};

// Worker side: has this flow been offered within the last `window_s` seconds?
class recent_flows {
public:
    // True when the flow should be logged now (and remembers it).
    bool should_log(const drop_record& r, std::uint64_t now_s, std::uint64_t window_s = 10) noexcept;

private:
    struct slot { std::uint64_t key = 0; std::uint64_t when = 0; };
    std::array<slot, 4096> slots_{};
};

// "udp 203.0.113.5:40000 -> 192.0.2.1:22 zone internet service ssh: drop (zone_not_allowed)"
std::string format_drop(const drop_record& r, std::string_view service_name);
// "ban 203.0.113.9/32 reason scanner (user-agent "friendly-scanner") for 86400 s"
std::string format_ban(const protect::ban_event& e);

}  // namespace pbxgate
