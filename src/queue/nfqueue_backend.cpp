#include "queue/nfqueue_backend.hpp"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <net/if.h>
#include <poll.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>

#include "queue/kernel_queue_stats.hpp"
#include "queue/queue_message.hpp"

namespace pbxgate {

namespace {

// Room beside the copied bytes for the netlink header and every metadata attribute the
// kernel may add (ids, marks, timestamps, hw address, conntrack, uid/gid, secctx, L2 header).
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

}  // namespace

nfqueue_backend::nfqueue_backend(const nfqueue_settings& settings)
    : settings_(settings),
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

    nl_ = mnl_socket_open(NETLINK_NETFILTER);
    if (nl_ == nullptr)
        throw queue_error(std::string("cannot open a NETLINK_NETFILTER socket: ") + std::strerror(errno));
    if (mnl_socket_bind(nl_, 0, MNL_SOCKET_AUTOPID) < 0) {
        const int err = errno;
        mnl_socket_close(nl_);
        throw queue_error(std::string("cannot bind the netlink socket: ") + std::strerror(err));
    }
    fd_ = mnl_socket_get_fd(nl_);
    portid_ = mnl_socket_get_portid(nl_);
    loopback_ifindex_ = if_nametoindex("lo");

    // About 1 KiB of socket buffer per queued small packet (skb truesize), so a full
    // kernel queue fits in the socket instead of overrunning it (ENOBUFS).
    const auto want = static_cast<int>(std::min<std::uint64_t>(std::uint64_t{settings_.queue_maxlen} * 1024, INT_MAX / 2));
    if (setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &want, sizeof want) != 0)
        setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &want, sizeof want);  // capped by net.core.rmem_max
    socklen_t optlen = sizeof rcvbuf_bytes_;
    getsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf_bytes_, &optlen);

    try {
        configure();
    } catch (...) {
        mnl_socket_close(nl_);
        nl_ = nullptr;
        throw;
    }
    spdlog::info("nfqueue {}: bound (portid {}, copy_range {}, maxlen {}, overflow {}, rcvbuf {} bytes, conntrack {})",
                 settings_.queue_num, portid_, settings_.copy_range, settings_.queue_maxlen,
                 settings_.overflow_accept ? "accept" : "drop", rcvbuf_bytes_,
                 conntrack_enabled_ ? "on" : (conntrack_available_ ? "available, off" : "unavailable"));
}

nfqueue_backend::~nfqueue_backend() {
    if (nl_ == nullptr) return;
    if (!drained_) drain(fail_verdict());
    mnl_socket_close(nl_);
}

void nfqueue_backend::configure() {
    if (kernel_needs_pf_bind()) {
        for (std::uint16_t pf : {std::uint16_t{AF_INET}, std::uint16_t{AF_INET6}}) {
            config_request(NFQNL_CFG_CMD_PF_UNBIND, pf, false, 0, 0);
            if (const int err = config_request(NFQNL_CFG_CMD_PF_BIND, pf, false, 0, 0)) throw_bind_error(err);
        }
    }

    // The conntrack probe goes alone and before the bind: the kernel checks the CONNTRACK
    // flag before anything else and rejects the WHOLE message with EOPNOTSUPP when it
    // cannot attach conntrack info, so bundling it would fail the bind too. Sent to a
    // queue we have not bound yet, a kernel that supports it answers ENODEV instead.
    const int probe = config_request(NFQNL_CFG_CMD_NONE, 0, false, NFQA_CFG_F_CONNTRACK, NFQA_CFG_F_CONNTRACK);
    conntrack_available_ = probe == 0 || probe == ENODEV;
    if (!conntrack_available_ && probe != EOPNOTSUPP && probe != EPERM)
        spdlog::debug("nfqueue {}: conntrack probe answered {}", settings_.queue_num, std::strerror(probe));
    conntrack_enabled_ = conntrack_available_ && settings_.request_conntrack;
    if (settings_.request_conntrack && !conntrack_available_)
        spdlog::warn("nfqueue {}: the kernel cannot attach conntrack info (NFQA_CFG_F_CONNTRACK); continuing without",
                     settings_.queue_num);

    // The kernel keeps only the last FLAGS/MASK pair of a message: every flag goes in one.
    // The mask names every flag we decide on, so fail-closed also clears FAIL_OPEN.
    std::uint32_t flags = NFQA_CFG_F_GSO;
    if (settings_.overflow_accept) flags |= NFQA_CFG_F_FAIL_OPEN;
    if (conntrack_enabled_) flags |= NFQA_CFG_F_CONNTRACK;
    const std::uint32_t mask = NFQA_CFG_F_GSO | NFQA_CFG_F_FAIL_OPEN | NFQA_CFG_F_CONNTRACK;
    if (const int err = config_request(NFQNL_CFG_CMD_BIND, AF_UNSPEC, true, flags, mask)) throw_bind_error(err);
}

int nfqueue_backend::config_request(std::uint8_t cmd, std::uint16_t pf, bool with_params, std::uint32_t flags,
                                    std::uint32_t mask) {
    alignas(nlmsghdr) char buf[256];
    nlmsghdr* nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, settings_.queue_num);
    nlh->nlmsg_flags |= NLM_F_ACK;
    nlh->nlmsg_seq = ++seq_;
    if (cmd != NFQNL_CFG_CMD_NONE) nfq_nlmsg_cfg_put_cmd(nlh, pf, cmd);
    if (with_params) {
        nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, static_cast<int>(settings_.copy_range));
        nfq_nlmsg_cfg_put_qmaxlen(nlh, settings_.queue_maxlen);
    }
    if (mask != 0) {
        mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
        mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(mask));
    }
    if (mnl_socket_sendto(nl_, nlh, nlh->nlmsg_len) < 0) return errno;
    return wait_ack(nlh->nlmsg_seq);
}

// Reads until the ack for `seq`. Once the queue is bound, packets may arrive before the
// ack: they are kept in the ring (stashed_) and handed out by the first receive_burst().
int nfqueue_backend::wait_ack(std::uint32_t seq) {
    const auto deadline = std::chrono::steady_clock::now() + ack_timeout;
    while (true) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        pollfd p{fd_, POLLIN, 0};
        const int pr = poll(&p, 1, static_cast<int>(std::max<long long>(left.count(), 0)));
        if (pr < 0 && errno == EINTR) continue;
        if (pr <= 0) return ETIMEDOUT;
        const std::size_t slot = std::min(stashed_, settings_.burst);  // slot `burst` is the spare
        std::uint8_t* buf = ring_.data() + slot * slot_size_;
        const ssize_t n = recv(fd_, buf, slot_size_, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            if (errno == ENOBUFS) { ++stats_.enobufs; continue; }
            return errno;
        }
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
        const auto r = parse_queue_message(buf, static_cast<std::size_t>(n), pkt, loopback_ifindex_);
        if (!r.id_known) continue;  // an old ack or noise
        if (slot < settings_.burst) {
            msgs_[slot].msg_len = static_cast<unsigned>(n);
            msgs_[slot].msg_hdr.msg_flags = 0;
            ++stashed_;
        } else {  // no room left: answer it now rather than leave it queued
            note_received(pkt.packet_id);
            pending_.add(pkt.packet_id, fail_verdict());
            send_verdicts(false, 1);
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

void nfqueue_backend::log_enobufs() noexcept {
    ++stats_.enobufs;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_enobufs_log_ < std::chrono::seconds(1)) return;  // at most once a second
    last_enobufs_log_ = now;
    try {
        spdlog::warn("nfqueue {}: socket receive buffer overran (ENOBUFS, {} so far): the kernel {} packets; "
                     "verdict faster or raise queue_maxlen",
                     settings_.queue_num, stats_.enobufs, settings_.overflow_accept ? "accepted" : "dropped");
    } catch (...) {
    }
}

std::size_t nfqueue_backend::parse_slots(std::size_t first, std::size_t end, std::span<received_packet> out) noexcept {
    std::size_t count = 0;
    for (std::size_t i = first; i < end && count < out.size(); ++i) {
        const std::uint8_t* buf = ring_.data() + i * slot_size_;
        const std::size_t len = msgs_[i].msg_len;
        if (msgs_[i].msg_hdr.msg_flags & MSG_TRUNC) ++stats_.truncated_messages;
        received_packet& pkt = out[count];
        const auto r = parse_queue_message(buf, len, pkt, loopback_ifindex_);
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
            // This burst's packets are outstanding below us: no batch messages here.
            if (pending_.full()) send_verdicts(false, pending_.size());
            pending_.add(pkt.packet_id, fail_verdict());
        }
    }
    return count;
}

receive_result nfqueue_backend::receive_burst(std::span<received_packet> out, std::chrono::milliseconds timeout) noexcept {
    const std::size_t vlen = std::min(out.size(), settings_.burst);
    if (vlen == 0) return {0, receive_status::error};
    if (stashed_ > 0) {
        const std::size_t n = std::min(stashed_ - stash_first_, vlen);
        const std::size_t count = parse_slots(stash_first_, stash_first_ + n, out);
        stash_first_ += n;
        if (stash_first_ == stashed_) stashed_ = stash_first_ = 0;
        unverdicted_ += count;
        stats_.packets += count;
        if (count > 0) { ++stats_.bursts; drained_ = false; return {count, receive_status::packets}; }
    }
    if (timeout.count() != timeout_ms_set_) {
        timeval tv{};
        if (timeout.count() > 0) {
            tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
            tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
        } else if (timeout.count() == 0) {
            tv.tv_usec = 1;  // 0 would mean "forever" to SO_RCVTIMEO
        }
        if (setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0) timeout_ms_set_ = timeout.count();
    }
    while (true) {
        ++stats_.recv_calls;
        // MSG_WAITFORONE: block (up to SO_RCVTIMEO) for the first datagram only.
        const int n = recvmmsg(fd_, msgs_.data(), static_cast<unsigned>(vlen), MSG_WAITFORONE, nullptr);
        if (n < 0) {
            const int err = errno;
            if (err == EINTR) return {0, receive_status::interrupted};
            if (err == EAGAIN || err == EWOULDBLOCK) return {0, receive_status::timeout};
            if (err == ENOBUFS) { log_enobufs(); continue; }  // packets were lost, the socket still works
            ++stats_.recv_errors;
            return {0, receive_status::error};
        }
        const std::size_t count = parse_slots(0, static_cast<std::size_t>(n), out);
        if (count == 0) {
            if (!pending_.empty()) flush();  // verdicts we gave unparseable packets
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
    if (pending_.full()) send_verdicts(false, pending_.size());
    pending_.add(packet_id, v, mark);
    if (unverdicted_ > 0) --unverdicted_;
}

void nfqueue_backend::set_repeat(std::uint32_t packet_id, std::uint32_t mark) noexcept {
    if (pending_.full()) send_verdicts(false, pending_.size());
    pending_.add_repeat(packet_id, mark);
    if (unverdicted_ > 0) --unverdicted_;
}

bool nfqueue_backend::flush() noexcept {
    if (pending_.empty()) return true;
    // Batch messages are safe only when nothing else is outstanding below their ids.
    return send_verdicts(unverdicted_ == 0, pending_.size());
}

bool nfqueue_backend::send_verdicts(bool allow_batch_messages, std::size_t verdict_count) noexcept {
    const auto bytes = pending_.build(settings_.queue_num, allow_batch_messages);
    bool ok = true;
    while (true) {
        ++stats_.send_calls;
        const ssize_t n = send(fd_, bytes.data(), bytes.size(), 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 || static_cast<std::size_t>(n) != bytes.size()) {
            ++stats_.send_errors;
            ok = false;
        }
        break;
    }
    if (ok) {
        stats_.verdicts += verdict_count;
        stats_.verdict_messages += pending_.verdict_messages();
        stats_.batch_messages += pending_.batch_messages();
    }
    pending_.clear();
    return ok;
}

std::size_t nfqueue_backend::drain(verdict v) noexcept {
    std::size_t count = 0;
    flush();
    // One batch message answers every packet handed out and never verdicted.
    if (unverdicted_ > 0 && received_any_) {
        pending_.add(max_received_id_, v);
        send_verdicts(true, unverdicted_);
        count += unverdicted_;
        unverdicted_ = 0;
    }
    // Then whatever still waits in the socket: take it without blocking, answer it in batches.
    for (std::size_t round = 0; round < max_drain_rounds; ++round) {
        std::size_t first = 0, n = 0;
        if (stashed_ > 0) {
            first = stash_first_;
            n = stashed_;
            stashed_ = stash_first_ = 0;
        } else {
            ++stats_.recv_calls;
            const int rc = recvmmsg(fd_, msgs_.data(), static_cast<unsigned>(settings_.burst), MSG_DONTWAIT, nullptr);
            if (rc < 0 && (errno == EINTR || errno == ENOBUFS)) {
                if (errno == ENOBUFS) log_enobufs();
                continue;
            }
            if (rc <= 0) break;
            n = static_cast<std::size_t>(rc);
        }
        std::size_t got = 0;
        for (std::size_t i = first; i < n; ++i) {
            received_packet pkt;
            const auto r = parse_queue_message(ring_.data() + i * slot_size_, msgs_[i].msg_len, pkt, loopback_ifindex_);
            if (r.id_known) {
                note_received(pkt.packet_id);
                ++got;
            }
        }
        if (got > 0) {
            pending_.add(max_received_id_, v);
            send_verdicts(true, got);
            count += got;
        }
    }
    drained_ = true;
    return count;
}

}  // namespace pbxgate
