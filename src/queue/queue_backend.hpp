// queue_backend: the kernel I/O seam of the packet path. One worker thread owns one backend
// (one NFQUEUE queue); nothing here locks, and the hot calls allocate nothing and never throw.
// The real backend is nfqueue_backend; unit tests use tests/unit/fake_queue_backend.hpp.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "pbxgate/packet.hpp"
#include "pbxgate/verdict.hpp"

namespace pbxgate {

// One queued packet. `data` points into a backend-owned receive buffer that stays valid
// only until the next receive_burst() (or drain()) on the same backend.
struct received_packet {
    std::uint32_t packet_id = 0;     // the kernel's id, echoed in the verdict
    std::uint16_t queue_num = 0;
    const std::uint8_t* data = nullptr;  // starts at the IP header
    std::uint32_t captured_len = 0;  // bytes readable at `data` (copy_range may cut the packet)
    std::uint32_t wire_len = 0;      // length of the whole packet (NFQA_CAP_LEN when cut)
    packet_meta meta;                // mark, input interface (loopback or not)
    std::uint32_t indev = 0;         // ifindex, 0 when the kernel sent none
    std::uint8_t hook = 0;           // NF_INET_* hook it was queued from (SIP answers leave by OUTPUT)
};

enum class receive_status : std::uint8_t {
    packets,      // count > 0
    timeout,      // nothing arrived in time
    interrupted,  // a signal arrived (EINTR): the caller checks its stop flag
    error,        // counted in queue_stats; the backend stays usable
};

struct receive_result {
    std::size_t count = 0;
    receive_status status = receive_status::timeout;
};

// Monotonic counters, read by the owning thread (or copied out by it for reporting).
struct queue_stats {
    std::uint64_t packets = 0;          // packets handed to the caller
    std::uint64_t bursts = 0;           // receive_burst calls that returned packets
    std::uint64_t recv_calls = 0;       // receive syscalls made
    std::uint64_t send_calls = 0;       // verdict send syscalls made
    std::uint64_t verdicts = 0;         // packets verdicted (including by drain)
    std::uint64_t verdict_messages = 0; // NFQNL_MSG_VERDICT messages sent
    std::uint64_t batch_messages = 0;   // NFQNL_MSG_VERDICT_BATCH messages sent
    std::uint64_t enobufs = 0;          // socket overruns: the kernel dropped (or, fail-open, accepted) packets
    std::uint64_t recv_errors = 0;      // other receive failures
    std::uint64_t send_errors = 0;      // failed verdict sends (the verdicts stay pending)
    std::uint64_t resent_verdicts = 0;  // verdicts sent by a later send after a failed one
    std::uint64_t netlink_errors = 0;   // NLMSG_ERROR answers (e.g. a verdict for an unknown id)
    std::uint64_t parse_errors = 0;     // queue messages we could not parse (answered with the fail verdict)
    std::uint64_t truncated_messages = 0;  // a message larger than the receive buffer
};

class queue_backend {
public:
    virtual ~queue_backend() = default;
    queue_backend() = default;
    queue_backend(const queue_backend&) = delete;
    queue_backend& operator=(const queue_backend&) = delete;

    // Blocks up to `timeout` for the first packet, then takes whatever else is already
    // waiting, up to out.size(). A negative timeout waits forever. Every packet returned
    // must get exactly one set_verdict() before the next receive_burst().
    virtual receive_result receive_burst(std::span<received_packet> out,
                                         std::chrono::milliseconds timeout) noexcept = 0;

    // Records a verdict; nothing is sent until flush() (or the pending store fills up).
    // `mark`, when given, sets the packet's nfmark.
    virtual void set_verdict(std::uint32_t packet_id, verdict v,
                             std::optional<std::uint32_t> mark = std::nullopt) noexcept = 0;

    // Records NF_REPEAT with packet mark `mark` (flow offload): the kernel runs the packet
    // through the hook again, where the offload rules save the mark to the connection and
    // accept it. Sent like set_verdict's, never batched with other packets.
    virtual void set_repeat(std::uint32_t packet_id, std::uint32_t mark) noexcept = 0;

    // Sends every recorded verdict in as few messages and syscalls as it can.
    // Returns false when the send failed (counted in stats()).
    virtual bool flush() noexcept = 0;

    // Before close: gives `v` to every packet still outstanding (received and not
    // verdicted, or still waiting in the socket), since the kernel drops what is queued
    // when the socket closes. Returns how many packets it verdicted.
    virtual std::size_t drain(verdict v) noexcept = 0;

    // Unbinds the queue and closes the socket (draining first with the fail-mode verdict
    // if drain() was not called). Called by the worker right after its drain, so no packet
    // waits in a queue nobody reads; stats() stays readable.
    virtual void close() noexcept = 0;

    virtual const queue_stats& stats() const noexcept = 0;
};

}  // namespace pbxgate
