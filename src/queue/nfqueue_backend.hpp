// nfqueue_backend: the real queue_backend, one NFQUEUE queue over a NETLINK_NETFILTER
// socket (libmnl + libnetfilter_queue's nfq_nlmsg_* helpers).
//
// Receive: recvmmsg(MSG_WAITFORONE) into a ring of buffers allocated at construction, so
// one syscall takes a whole burst (the kernel sends one packet per datagram).
// Send: flush() packs the burst's verdicts (see verdict_batch) into one send.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "queue/queue_backend.hpp"
#include "queue/verdict_batch.hpp"

struct mnl_socket;

namespace pbxgate {

struct nfqueue_settings {
    std::uint16_t queue_num = 0;
    std::uint32_t copy_range = 0xffff;   // bytes of each packet copied to us (max 65535)
    std::uint32_t queue_maxlen = 16384;  // packets the kernel holds for us before dropping
    bool fail_open = false;              // verdict for what is still queued at close: accept (true) or drop
    // Queue full or socket overrun while bound: the kernel accepts unjudged (true,
    // NFQA_CFG_F_FAIL_OPEN) or drops (false). Apart from fail_open: a flood must not open ports.
    bool overflow_accept = false;
    bool request_conntrack = false;      // ask for NFQA_CT when the kernel supports it
    std::size_t burst = 64;              // packets per receive syscall (1..1024)
    std::size_t pending_verdicts = 256;  // verdicts held before flush() must send (>= burst)
};

// Thrown by the constructor only; the message says what to fix.
class queue_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class nfqueue_backend final : public queue_backend {
public:
    // Binds the queue; throws queue_error with what to fix (not root, queue taken, ...).
    explicit nfqueue_backend(const nfqueue_settings& settings);
    // Closes the socket; if drain() was not called since the last packet, drains first
    // with the fail-mode verdict (accept when fail_open, else drop).
    ~nfqueue_backend() override;

    receive_result receive_burst(std::span<received_packet> out, std::chrono::milliseconds timeout) noexcept override;
    void set_verdict(std::uint32_t packet_id, verdict v, std::optional<std::uint32_t> mark = std::nullopt) noexcept override;
    void set_repeat(std::uint32_t packet_id, std::uint32_t mark) noexcept override;
    bool flush() noexcept override;
    std::size_t drain(verdict v) noexcept override;
    const queue_stats& stats() const noexcept override { return stats_; }

    const nfqueue_settings& settings() const noexcept { return settings_; }
    // Whether this kernel can attach conntrack info (NFQA_CFG_F_CONNTRACK); probed at bind.
    bool conntrack_available() const noexcept { return conntrack_available_; }
    bool conntrack_enabled() const noexcept { return conntrack_enabled_; }
    std::uint32_t portid() const noexcept { return portid_; }
    int receive_buffer_bytes() const noexcept { return rcvbuf_bytes_; }
    std::uint32_t loopback_ifindex() const noexcept { return loopback_ifindex_; }

private:
    void configure();
    int config_request(std::uint8_t cmd, std::uint16_t pf, bool with_params, std::uint32_t flags,
                       std::uint32_t mask);
    int wait_ack(std::uint32_t seq);
    [[noreturn]] void throw_bind_error(int err) const;

    std::size_t parse_slots(std::size_t first, std::size_t end, std::span<received_packet> out) noexcept;
    bool send_verdicts(bool allow_batch_messages, std::size_t verdict_count) noexcept;
    void note_received(std::uint32_t id) noexcept;
    verdict fail_verdict() const noexcept { return settings_.fail_open ? verdict::accept : verdict::drop; }
    void log_enobufs() noexcept;

    nfqueue_settings settings_;
    mnl_socket* nl_ = nullptr;
    int fd_ = -1;
    std::uint32_t portid_ = 0;
    std::uint32_t seq_ = 0;
    std::uint32_t loopback_ifindex_ = 0;
    int rcvbuf_bytes_ = 0;
    bool conntrack_available_ = false;
    bool conntrack_enabled_ = false;

    std::size_t slot_size_ = 0;
    std::vector<std::uint8_t> ring_;  // burst slots of slot_size_ bytes
    std::vector<iovec> iov_;
    std::vector<mmsghdr> msgs_;
    std::size_t stashed_ = 0;  // packets that arrived while configure() waited for an ack
    std::size_t stash_first_ = 0;  // the next stashed slot to hand out

    verdict_batch pending_;
    std::size_t unverdicted_ = 0;   // handed out, no set_verdict yet
    std::uint32_t max_received_id_ = 0;
    bool received_any_ = false;
    bool drained_ = false;
    long long timeout_ms_set_ = -2;  // the SO_RCVTIMEO currently on the socket
    std::chrono::steady_clock::time_point last_enobufs_log_{};
    queue_stats stats_;
};

}  // namespace pbxgate
