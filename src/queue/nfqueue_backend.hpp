// nfqueue_backend: the real queue_backend, one NFQUEUE queue over a NETLINK_NETFILTER
// socket (libnetfilter_queue's nfq_nlmsg_* helpers build the messages).
//
// Receive: recvmmsg(MSG_WAITFORONE) into a ring of buffers allocated at construction, so
// one syscall takes a whole burst (the kernel sends one packet per datagram).
// Send: flush() packs the pending verdicts (see verdict_batch) into one send. A verdict
// that could not be sent stays pending and goes out with the next send: it is never
// dropped, and no batch message can reach its packet first (verdicts go in id order).
// To keep that promise with a bounded store, receive_burst() never hands out more packets
// than the store has room for verdicts.
//
// The socket sits behind netlink_channel, so unit tests run this class against a model of
// the kernel queue.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "pbxgate/verdict.hpp"
#include "queue/netlink_channel.hpp"
#include "queue/queue_backend.hpp"
#include "queue/verdict_batch.hpp"

namespace pbxgate {

struct nfqueue_settings {
    std::uint16_t queue_num = 0;
    std::uint32_t copy_range = 0xffff;   // bytes of each packet copied to us (max 65535)
    std::uint32_t queue_maxlen = 16384;  // packets the kernel holds for us before dropping
    bool fail_open = false;              // verdict for what is still queued at close: accept (true) or drop
    // Queue full or socket overrun while bound: the kernel accepts unjudged (true,
    // NFQA_CFG_F_FAIL_OPEN) or drops (false). Apart from fail_open: a flood must not open ports.
    bool overflow_accept = false;
    std::size_t burst = 64;              // packets per receive syscall (1..1024)
    std::size_t pending_verdicts = 256;  // verdicts held before one must be sent (>= burst)
    std::uint32_t loopback_ifindex = 0;  // 0: the ifindex of "lo", looked up at bind
};

// Thrown by the constructor only; the message says what to fix.
class queue_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class nfqueue_backend final : public queue_backend {
public:
    // Opens a socket and binds the queue; throws queue_error with what to fix (not root,
    // queue taken, ...).
    explicit nfqueue_backend(const nfqueue_settings& settings);
    // Binds the queue over `channel` (a socket opened by the caller, or a kernel model).
    nfqueue_backend(const nfqueue_settings& settings, std::unique_ptr<netlink_channel> channel);
    // If drain() was not called since the last packet, drains first with the fail-mode
    // verdict (accept when fail_open, else drop), then closes.
    ~nfqueue_backend() override;

    receive_result receive_burst(std::span<received_packet> out, std::chrono::milliseconds timeout) noexcept override;
    void set_verdict(std::uint32_t packet_id, verdict v, std::optional<std::uint32_t> mark = std::nullopt) noexcept override;
    void set_repeat(std::uint32_t packet_id, std::uint32_t mark) noexcept override;
    bool flush() noexcept override;
    std::size_t drain(verdict v) noexcept override;
    void close() noexcept override;
    const queue_stats& stats() const noexcept override { return stats_; }

    const nfqueue_settings& settings() const noexcept { return settings_; }
    std::uint32_t portid() const noexcept { return portid_; }
    int receive_buffer_bytes() const noexcept { return rcvbuf_bytes_; }
    std::uint32_t loopback_ifindex() const noexcept { return settings_.loopback_ifindex; }
    // Verdicts recorded and not yet sent (a failed send keeps them here).
    std::size_t unsent_verdicts() const noexcept { return pending_.size(); }

private:
    struct queue_config {
        std::uint8_t cmd = 0;
        std::uint16_t pf = 0;
        bool copy_params = false;  // NFQA_CFG_PARAMS (copy mode and range)
        bool set_maxlen = false;
        std::uint32_t maxlen = 0;
        std::uint32_t flags = 0;
        std::uint32_t mask = 0;    // 0: no NFQA_CFG_FLAGS/NFQA_CFG_MASK
    };

    void configure();
    int config_request(const queue_config& c, verdict stash_overflow) noexcept;
    int wait_ack(std::uint32_t seq, verdict stash_overflow) noexcept;
    [[noreturn]] void throw_bind_error(int err) const;

    std::size_t parse_slots(std::size_t first, std::size_t end, std::span<received_packet> out) noexcept;
    bool send_verdicts(bool allow_batch_messages) noexcept;
    void add_pending(std::uint32_t id, verdict v) noexcept;
    void note_received(std::uint32_t id) noexcept;
    verdict fail_verdict() const noexcept { return settings_.fail_open ? verdict::accept : verdict::drop; }

    nfqueue_settings settings_;
    std::unique_ptr<netlink_channel> channel_;
    std::uint32_t portid_ = 0;
    std::uint32_t seq_ = 0;
    int rcvbuf_bytes_ = 0;

    std::size_t slot_size_ = 0;
    std::vector<std::uint8_t> ring_;  // burst slots of slot_size_ bytes
    std::vector<iovec> iov_;
    std::vector<mmsghdr> msgs_;
    std::size_t stashed_ = 0;  // packets that arrived while configure() waited for an ack
    std::size_t stash_first_ = 0;  // the next stashed slot to hand out
    std::size_t answered_at_ack_ = 0;  // packets wait_ack answered itself (no stash room)

    verdict_batch pending_;
    std::size_t pending_packets_ = 0;  // packets the pending verdicts answer (a drain batch answers many)
    std::size_t failed_unsent_ = 0;    // pending verdicts that were in a failed send
    std::size_t unverdicted_ = 0;   // handed out, no set_verdict yet
    std::uint32_t max_received_id_ = 0;
    bool received_any_ = false;
    bool drained_ = false;
    long long timeout_ms_set_ = -2;  // the receive timeout currently on the socket
    queue_stats stats_;
};

}  // namespace pbxgate
