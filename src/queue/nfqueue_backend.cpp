#include "queue/nfqueue_backend.hpp"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <net/if.h>
#include <sys/utsname.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>

#include "queue/kernel_queue_stats.hpp"
#include "queue/nfnetlink_socket.hpp"
#include "queue/queue_message.hpp"

namespace pbxgate {

namespace {

// Room beside the copied bytes for the netlink header and every metadata attribute the
// kernel may add (ids, marks, timestamps, hw address, uid/gid, secctx, L2 header).
constexpr std::size_t message_overhead = 4096;
constexpr std::chrono::milliseconds ack_timeout{2000};
constexpr std::size_t max_drain_rounds = 1024;

// Kernels before 3.8 route queue traffic per protocol family and need PF_(UN)BIND;
// later kernels ignore those commands.
bool kernel_needs_pf_bind() noexcept {
    utsname u{};
    if (uname(&u) != 0) return false;
    unsigned major = 0, minor = 0;
    if (std::sscanf(u.release, "%u.%u", &major, &minor) != 2) return false;
    return major < 3 || (major == 3 && minor < 8);
}

// Wrap-aware "a is after b" for the kernel's u32 id sequence.
bool id_after(std::uint32_t a, std::uint32_t b) noexcept { return static_cast<std::int32_t>(a - b) > 0; }

nfqueue_settings with_loopback(nfqueue_settings s) {
    if (s.loopback_ifindex == 0) s.loopback_ifindex = if_nametoindex("lo");
    return s;
}

std::unique_ptr<netlink_channel> open_socket(const nfqueue_settings& s) {
    // About 1 KiB of socket buffer per queued small packet (skb truesize), so a full
    // kernel queue fits in the socket instead of overrunning it (ENOBUFS).
    const auto want = static_cast<int>(std::min<std::uint64_t>(std::uint64_t{s.queue_maxlen} * 1024, INT_MAX / 2));
    try {
        return std::make_unique<nfnetlink_socket>(want);
    } catch (const std::runtime_error& ex) {
        throw queue_error(ex.what());
    }
}

}  // namespace

nfqueue_backend::nfqueue_backend(const nfqueue_settings& settings)
    : nfqueue_backend(with_loopback(settings), open_socket(settings)) {}

nfqueue_backend::nfqueue_backend(const nfqueue_settings& settings, std::unique_ptr<netlink_channel> channel)
    : settings_(settings),
      channel_(std::move(channel)),
      pending_(std::max(settings.pending_verdicts, settings.burst) + settings.burst + 1) {
    if (settings_.burst == 0 || settings_.burst > 1024)
        throw queue_error("NFQUEUE burst must be 1..1024, got " + std::to_string(settings_.burst));
    if (settings_.copy_range > 0xffff)
        throw queue_error("NFQUEUE copy_range must be at most 65535, got " + std::to_string(settings_.copy_range));
    if (settings_.queue_maxlen == 0) throw queue_error("NFQUEUE queue_maxlen must be at least 1");

    // One spare slot beyond the burst: configure() may need it for a packet that races the ack.
    slot_size_ = (settings_.copy_range + message_overhead + 63) & ~std::size_t{63};
    ring_.resize(slot_size_ * (settings_.burst + 1));
    iov_.resize(settings_.burst + 1);
    msgs_.resize(settings_.burst + 1);
    for (std::size_t i = 0; i < iov_.size(); ++i) {
        iov_[i] = iovec{ring_.data() + i * slot_size_, slot_size_};
        msgs_[i] = mmsghdr{};
        msgs_[i].msg_hdr.msg_iov = &iov_[i];
        msgs_[i].msg_hdr.msg_iovlen = 1;
    }

    portid_ = channel_->portid();
    rcvbuf_bytes_ = channel_->receive_buffer_bytes();
    configure();
    spdlog::info("nfqueue {}: bound (portid {}, copy_range {}, maxlen {}, overflow {}, rcvbuf {} bytes)", settings_.queue_num,
                 portid_, settings_.copy_range, settings_.queue_maxlen, settings_.overflow_accept ? "accept" : "drop",
                 rcvbuf_bytes_);
}

nfqueue_backend::~nfqueue_backend() { close(); }

void nfqueue_backend::close() noexcept {
    if (!channel_) return;
    if (!drained_) drain(fail_verdict());
    channel_->close();
    channel_.reset();
}

void nfqueue_backend::configure() {
    if (kernel_needs_pf_bind()) {
        for (std::uint16_t pf : {std::uint16_t{AF_INET}, std::uint16_t{AF_INET6}}) {
            config_request({.cmd = NFQNL_CFG_CMD_PF_UNBIND, .pf = pf}, fail_verdict());
            if (const int err = config_request({.cmd = NFQNL_CFG_CMD_PF_BIND, .pf = pf}, fail_verdict()))
                throw_bind_error(err);
        }
    }
    // The kernel keeps only the last FLAGS/MASK pair of a message: every flag goes in one,
    // and the mask names every flag we decide on, so fail-closed also clears FAIL_OPEN.
    // No NFQA_CFG_F_CONNTRACK: nothing here reads NFQA_CT, and asking costs every packet a
    // conntrack dump on kernels that have it.
    queue_config bind{.cmd = NFQNL_CFG_CMD_BIND, .pf = AF_UNSPEC, .copy_params = true, .set_maxlen = true,
                      .maxlen = settings_.queue_maxlen};
    bind.flags = NFQA_CFG_F_GSO | (settings_.overflow_accept ? NFQA_CFG_F_FAIL_OPEN : 0u);
    bind.mask = NFQA_CFG_F_GSO | NFQA_CFG_F_FAIL_OPEN | NFQA_CFG_F_CONNTRACK;
    if (const int err = config_request(bind, fail_verdict())) throw_bind_error(err);
}

int nfqueue_backend::config_request(const queue_config& c, verdict stash_overflow) noexcept {
    alignas(nlmsghdr) char buf[256];
    nlmsghdr* nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, settings_.queue_num);
    nlh->nlmsg_flags |= NLM_F_ACK;
    nlh->nlmsg_seq = ++seq_;
    if (c.cmd != NFQNL_CFG_CMD_NONE) nfq_nlmsg_cfg_put_cmd(nlh, c.pf, c.cmd);
    if (c.copy_params) nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, static_cast<int>(settings_.copy_range));
    if (c.set_maxlen) nfq_nlmsg_cfg_put_qmaxlen(nlh, c.maxlen);
    if (c.mask != 0) {
        mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(c.flags));
        mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(c.mask));
    }
    long n;
    do n = channel_->send(nlh, nlh->nlmsg_len); while (n == -EINTR);
    if (n < 0) return static_cast<int>(-n);
    return wait_ack(nlh->nlmsg_seq, stash_overflow);
}

// Reads until the ack for `seq`. Once the queue is bound, packets may arrive before the
// ack: they are kept in the ring (stashed_) and handed out by the next receive_burst()
// (or drain()); beyond the ring's room they get `stash_overflow` at once.
int nfqueue_backend::wait_ack(std::uint32_t seq, verdict stash_overflow) noexcept {
    const auto deadline = std::chrono::steady_clock::now() + ack_timeout;
    while (true) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0 || !channel_->wait_readable(left)) return ETIMEDOUT;
        const std::size_t slot = std::min(stash_first_ + stashed_, settings_.burst);  // slot `burst` is the spare
        const int rc = channel_->receive(&msgs_[slot], 1, false);
        if (rc < 0) {
            if (rc == -EINTR || rc == -EAGAIN) continue;
            if (rc == -ENOBUFS) { ++stats_.enobufs; continue; }
            return -rc;
        }
        if (rc == 0) continue;
        const std::uint8_t* buf = ring_.data() + slot * slot_size_;
        const std::size_t n = msgs_[slot].msg_len;
        const auto* nlh = reinterpret_cast<const nlmsghdr*>(buf);
        int len = static_cast<int>(n);
        for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
            if (nlh->nlmsg_type == NLMSG_ERROR && nlh->nlmsg_seq == seq) {
                if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(nlmsgerr)) return EPROTO;
                const auto* e = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
                return -e->error;
            }
        }
        received_packet pkt;
        const auto r = parse_queue_message(buf, n, pkt, settings_.loopback_ifindex);
        if (!r.id_known) continue;  // an old ack or noise
        if (slot < settings_.burst) {
            ++stashed_;
        } else {  // no room left: answer it now rather than leave it queued
            note_received(pkt.packet_id);
            add_pending(pkt.packet_id, stash_overflow);
            send_verdicts(false);
            ++answered_at_ack_;
        }
    }
}

void nfqueue_backend::throw_bind_error(int err) const {
    const std::string q = "NFQUEUE queue " + std::to_string(settings_.queue_num);
    if (err == EPERM) {
        // The kernel answers EPERM both without CAP_NET_ADMIN and when another socket owns
        // the queue; the kernel's own table tells the two apart.
        if (auto all = read_kernel_queue_stats()) {
            for (const auto& s : *all)
                if (s.queue_num == settings_.queue_num && s.portid != portid_)
                    throw queue_error(q + " is already bound by another process (netlink port id " +
                                      std::to_string(s.portid) + ")");
        }
        throw queue_error("binding " + q + " needs CAP_NET_ADMIN (run as root)");
    }
    if (err == EBUSY || err == EEXIST) throw queue_error(q + " is already bound by another process");
    if (err == ETIMEDOUT) throw queue_error("binding " + q + ": the kernel did not answer");
    throw queue_error("binding " + q + " failed: " + std::strerror(err));
}

void nfqueue_backend::note_received(std::uint32_t id) noexcept {
    if (!received_any_ || id_after(id, max_received_id_)) max_received_id_ = id;
    received_any_ = true;
}

// Records a verdict we give ourselves (parse failures, drain). receive_burst() keeps room
// for one per packet it takes in, so the store has room here.
void nfqueue_backend::add_pending(std::uint32_t id, verdict v) noexcept {
    if (pending_.full()) send_verdicts(false);
    if (pending_.add(id, v)) ++pending_packets_;
}

std::size_t nfqueue_backend::parse_slots(std::size_t first, std::size_t end, std::span<received_packet> out) noexcept {
    std::size_t count = 0;
    for (std::size_t i = first; i < end && count < out.size(); ++i) {
        const std::uint8_t* buf = ring_.data() + i * slot_size_;
        const std::size_t len = msgs_[i].msg_len;
        if (msgs_[i].msg_hdr.msg_flags & MSG_TRUNC) ++stats_.truncated_messages;
        received_packet& pkt = out[count];
        const auto r = parse_queue_message(buf, len, pkt, settings_.loopback_ifindex);
        if (r.ok()) {
            note_received(pkt.packet_id);
            ++count;
            continue;
        }
        if (r.status == queue_parse_status::not_queue_packet) {
            // Verdicts carry no NLM_F_ACK, so an NLMSG_ERROR here is a refused verdict.
            ++stats_.netlink_errors;
            continue;
        }
        ++stats_.parse_errors;
        if (r.id_known) {  // answer it ourselves: the caller never sees it
            note_received(pkt.packet_id);
            add_pending(pkt.packet_id, fail_verdict());
        }
    }
    return count;
}

receive_result nfqueue_backend::receive_burst(std::span<received_packet> out, std::chrono::milliseconds timeout) noexcept {
    if (!channel_) return {0, receive_status::error};
    // Verdicts a failed send left behind go first; they hold their packets in the kernel.
    if (!pending_.empty() && unverdicted_ == 0) flush();
    // Take in no more packets than the store can hold verdicts for (each received message
    // ends as one verdict, ours or the caller's): verdicts are never dropped.
    const std::size_t room = pending_.room() > unverdicted_ ? pending_.room() - unverdicted_ : 0;
    const std::size_t vlen = std::min({out.size(), settings_.burst, room});
    if (vlen == 0) {
        ++stats_.recv_errors;  // the sends keep failing: the caller backs off and retries
        return {0, receive_status::error};
    }
    if (stashed_ > 0) {
        const std::size_t n = std::min(stashed_, vlen);
        const std::size_t count = parse_slots(stash_first_, stash_first_ + n, out);
        stash_first_ += n;
        stashed_ -= n;
        if (stashed_ == 0) stash_first_ = 0;
        unverdicted_ += count;
        stats_.packets += count;
        if (count > 0) { ++stats_.bursts; drained_ = false; return {count, receive_status::packets}; }
    }
    if (timeout.count() != timeout_ms_set_) {
        channel_->set_receive_timeout(timeout);
        timeout_ms_set_ = timeout.count();
    }
    while (true) {
        ++stats_.recv_calls;
        // MSG_WAITFORONE: block (up to the receive timeout) for the first datagram only.
        const int n = channel_->receive(msgs_.data(), static_cast<unsigned>(vlen), true);
        if (n < 0) {
            if (n == -EINTR) return {0, receive_status::interrupted};
            if (n == -EAGAIN || n == -EWOULDBLOCK) return {0, receive_status::timeout};
            // Packets were lost (or, fail-open, accepted unjudged); the socket still works.
            // The worker reports it: nothing here logs.
            if (n == -ENOBUFS) { ++stats_.enobufs; continue; }
            ++stats_.recv_errors;
            return {0, receive_status::error};
        }
        const std::size_t count = parse_slots(0, static_cast<std::size_t>(n), out);
        if (count == 0) {
            if (!pending_.empty()) flush();  // verdicts we gave unparseable packets
            if (n == 0) return {0, receive_status::timeout};
            continue;
        }
        unverdicted_ += count;
        stats_.packets += count;
        ++stats_.bursts;
        drained_ = false;
        return {count, receive_status::packets};
    }
}

void nfqueue_backend::set_verdict(std::uint32_t packet_id, verdict v, std::optional<std::uint32_t> mark) noexcept {
    if (pending_.full()) send_verdicts(false);  // other packets are outstanding: no batches
    if (pending_.add(packet_id, v, mark)) ++pending_packets_;
    if (unverdicted_ > 0) --unverdicted_;
}

void nfqueue_backend::set_repeat(std::uint32_t packet_id, std::uint32_t mark) noexcept {
    if (pending_.full()) send_verdicts(false);
    if (pending_.add_repeat(packet_id, mark)) ++pending_packets_;
    if (unverdicted_ > 0) --unverdicted_;
}

bool nfqueue_backend::flush() noexcept {
    if (pending_.empty()) return true;
    // Batch messages are safe only when nothing else is outstanding below their ids.
    return send_verdicts(unverdicted_ == 0);
}

// Sends every pending verdict in one send. On failure nothing reached the kernel (a
// netlink send is all or nothing), so the verdicts stay pending for the next send; since
// each build covers them all in id order, no later batch message can answer their packets.
bool nfqueue_backend::send_verdicts(bool allow_batch_messages) noexcept {
    if (!channel_) return false;
    const auto bytes = pending_.build(settings_.queue_num, allow_batch_messages);
    long n;
    do {
        ++stats_.send_calls;
        n = channel_->send(bytes.data(), bytes.size());
    } while (n == -EINTR);
    if (n < 0 || static_cast<std::size_t>(n) != bytes.size()) {
        ++stats_.send_errors;
        failed_unsent_ = pending_.size();
        return false;
    }
    stats_.verdicts += pending_packets_;
    stats_.verdict_messages += pending_.verdict_messages();
    stats_.batch_messages += pending_.batch_messages();
    stats_.resent_verdicts += failed_unsent_;
    failed_unsent_ = 0;
    pending_packets_ = 0;
    pending_.clear();
    return true;
}

std::size_t nfqueue_backend::drain(verdict v) noexcept {
    if (!channel_) return 0;
    std::size_t count = 0;
    flush();
    // One batch message answers every packet handed out and never verdicted. Verdicts still
    // pending (their send failed) go one by one before it, so no run of theirs can batch
    // over an unverdicted packet.
    if (unverdicted_ > 0 && received_any_) {
        if (pending_.full()) send_verdicts(false);
        const bool alone = pending_.empty();
        if (pending_.add_up_to(max_received_id_, v)) pending_packets_ += unverdicted_;
        send_verdicts(alone);
        count += unverdicted_;
        unverdicted_ = 0;
    }
    // Close the door: with a queue length of 0 every packet queued from now on takes the
    // kernel's queue-full path (accepted unjudged with FAIL_OPEN, else dropped) instead of
    // waiting in a queue that dies with the socket. What was queued before is in the
    // socket (or stashed) once the ack is back, and gets `v` below: nothing is lost.
    queue_config door{.cmd = NFQNL_CFG_CMD_NONE, .set_maxlen = true, .maxlen = 0};
    door.flags = v == verdict::accept ? NFQA_CFG_F_FAIL_OPEN : 0u;
    door.mask = NFQA_CFG_F_FAIL_OPEN;
    answered_at_ack_ = 0;
    config_request(door, v);
    count += answered_at_ack_;
    // Then whatever still waits in the socket: take it without blocking, answer it in batches.
    for (std::size_t round = 0; round < max_drain_rounds; ++round) {
        std::size_t first = 0, n = 0;
        if (stashed_ > 0) {
            first = stash_first_;
            n = stash_first_ + stashed_;
            stashed_ = stash_first_ = 0;
        } else {
            ++stats_.recv_calls;
            const int rc = channel_->receive(msgs_.data(), static_cast<unsigned>(settings_.burst), false);
            if (rc == -EINTR || rc == -ENOBUFS) {
                if (rc == -ENOBUFS) ++stats_.enobufs;
                continue;
            }
            if (rc <= 0) break;
            n = static_cast<std::size_t>(rc);
        }
        std::size_t got = 0;
        for (std::size_t i = first; i < n; ++i) {
            received_packet pkt;
            const auto r =
                parse_queue_message(ring_.data() + i * slot_size_, msgs_[i].msg_len, pkt, settings_.loopback_ifindex);
            if (r.id_known) {
                note_received(pkt.packet_id);
                ++got;
            }
        }
        if (got > 0) {
            if (pending_.full()) send_verdicts(false);
            if (pending_.add_up_to(max_received_id_, v)) pending_packets_ += got;
            send_verdicts(true);
            count += got;
        }
    }
    // A send that keeps failing: try the leftovers one last time before the socket closes.
    if (!pending_.empty()) send_verdicts(true);
    drained_ = true;
    return count;
}

}  // namespace pbxgate
