// kernel_queue_model: a netlink_channel that plays the kernel's side of one NFQUEUE queue,
// so nfqueue_backend runs in unit tests without root. It keeps the queue (ids waiting for
// a verdict) and the socket (datagrams waiting to be read), answers config messages with
// acks, and applies verdicts as nfnetlink_queue does: NFQNL_MSG_VERDICT answers one
// queued id, NFQNL_MSG_VERDICT_BATCH every queued id up to its own, an unknown id is an
// ENOENT error message. Sends and receives can be told to fail. Test-only: allocates.
#pragma once

#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/netlink.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <memory>
#include <optional>
#include <vector>

#include "queue/netlink_channel.hpp"

namespace pbxgate::test {

struct kernel_queue_state {
    using bytes = std::vector<std::uint8_t>;

    struct config_seen {
        std::uint8_t cmd = NFQNL_CFG_CMD_NONE;
        int flag_attrs = 0;  // NFQA_CFG_FLAGS attributes in the message
        int mask_attrs = 0;
        std::uint32_t flags = 0, mask = 0;
        std::optional<std::uint32_t> maxlen;
    };
    struct reinjected {
        std::uint32_t id = 0;
        std::uint32_t nf_verdict = 0;  // NF_ACCEPT, NF_DROP, NF_REPEAT
        std::optional<std::uint32_t> mark;
        bool by_batch = false;
    };

    std::uint16_t queue_num = 0;
    bool bound = false;
    std::uint32_t maxlen = 1024;
    std::uint32_t flags = 0;
    std::uint32_t next_id = 1;
    std::deque<std::uint32_t> queued;  // waiting for a verdict, in id order
    std::deque<bytes> socket;          // datagrams not yet received
    std::vector<config_seen> configs;
    std::vector<reinjected> verdicts;  // in the order the kernel reinjected the packets
    std::vector<std::uint32_t> overflow_accepted, overflow_dropped, dropped_at_close;
    int unknown_ids = 0;
    int fail_sends = 0;                 // the next N sends fail with ENOBUFS
    std::deque<int> receive_errors;     // errno values the next receives report
    std::size_t packets_before_ack = 0; // packets queued while the next config waits for its ack
    int send_calls = 0, receive_calls = 0;
    bool closed = false;

    // A packet reaches the queue's hook: queued (message to the socket) or, when the queue
    // is full, accepted (FAIL_OPEN) or dropped unjudged. Returns its id (0: not queued).
    std::uint32_t enqueue(std::size_t payload = 28, std::optional<std::uint32_t> indev = std::nullopt) {
        if (!bound) return 0;
        const std::uint32_t id = next_id++;
        if (queued.size() >= maxlen) {
            ((flags & NFQA_CFG_F_FAIL_OPEN) ? overflow_accepted : overflow_dropped).push_back(id);
            return 0;
        }
        queued.push_back(id);
        socket.push_back(packet_message(id, payload, indev));
        return id;
    }
    // Queues a message the backend cannot parse but whose id it can read (no payload).
    std::uint32_t enqueue_without_payload() {
        const std::uint32_t id = next_id++;
        queued.push_back(id);
        socket.push_back(message(packet_type(), {{NFQA_PACKET_HDR, packet_hdr(id)}}));
        return id;
    }

    const reinjected* verdict_of(std::uint32_t id) const {
        const reinjected* found = nullptr;
        for (const auto& v : verdicts)
            if (v.id == id) found = &v;
        return found;
    }
    std::size_t times_verdicted(std::uint32_t id) const {
        return static_cast<std::size_t>(std::count_if(verdicts.begin(), verdicts.end(), [id](const reinjected& v) { return v.id == id; }));
    }

    // --- the kernel's side of send() ---
    int apply(const std::uint8_t* buf, std::size_t len) {
        std::size_t off = 0;
        while (off + NLMSG_HDRLEN <= len) {
            nlmsghdr h;
            std::memcpy(&h, buf + off, sizeof h);
            if (h.nlmsg_len < NLMSG_HDRLEN || h.nlmsg_len > len - off) return -EINVAL;
            // Racing packets reach a bound queue before the config applies (a closing door
            // still lets them in), and a queue that the config binds right after it.
            const bool config = (h.nlmsg_type & 0xff) == NFQNL_MSG_CONFIG;
            if (config && bound) enqueue_racing();
            const int err = apply_one(buf + off, h);
            if (config && bound) enqueue_racing();
            if (err != 0 || (h.nlmsg_flags & NLM_F_ACK)) socket.push_back(ack(h, err));
            off += NLMSG_ALIGN(h.nlmsg_len);
        }
        return 0;
    }

    void enqueue_racing() {
        for (; packets_before_ack > 0; --packets_before_ack) enqueue();
    }

    void close_socket() {
        closed = true;
        bound = false;
        for (auto id : queued) dropped_at_close.push_back(id);
        queued.clear();
        socket.clear();
    }

    static std::uint16_t packet_type() { return (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET; }

private:
    struct attr {
        std::uint16_t type;
        bytes data;
    };
    static bytes be32(std::uint32_t v) {
        return {std::uint8_t(v >> 24), std::uint8_t(v >> 16), std::uint8_t(v >> 8), std::uint8_t(v)};
    }
    static bytes packet_hdr(std::uint32_t id) {
        bytes b = be32(id);
        b.insert(b.end(), {0x08, 0x00, NF_INET_LOCAL_IN});
        return b;
    }
    bytes message(std::uint16_t type, const std::vector<attr>& attrs) const {
        bytes b(NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nfgenmsg)), 0);
        for (const auto& a : attrs) {
            const auto l = static_cast<std::uint16_t>(4 + a.data.size());
            const std::size_t at = b.size();
            b.resize(at + 4);
            std::memcpy(&b[at], &l, 2);
            std::memcpy(&b[at + 2], &a.type, 2);
            b.insert(b.end(), a.data.begin(), a.data.end());
            b.resize(NLA_ALIGN(b.size()), 0);
        }
        nlmsghdr h{};
        h.nlmsg_len = static_cast<std::uint32_t>(b.size());
        h.nlmsg_type = type;
        std::memcpy(b.data(), &h, sizeof h);
        nfgenmsg g{};
        g.version = NFNETLINK_V0;
        g.res_id = htons(queue_num);
        std::memcpy(&b[NLMSG_HDRLEN], &g, sizeof g);
        return b;
    }
    bytes packet_message(std::uint32_t id, std::size_t payload, std::optional<std::uint32_t> indev) const {
        bytes ip(std::max<std::size_t>(payload, 20), 0);
        ip[0] = 0x45;
        ip[2] = static_cast<std::uint8_t>(ip.size() >> 8);
        ip[3] = static_cast<std::uint8_t>(ip.size());
        ip[8] = 64;
        ip[9] = 17;
        std::vector<attr> attrs{{NFQA_PACKET_HDR, packet_hdr(id)}};
        if (indev) attrs.push_back({NFQA_IFINDEX_INDEV, be32(*indev)});
        attrs.push_back({NFQA_PAYLOAD, ip});
        return message(packet_type(), attrs);
    }
    bytes ack(const nlmsghdr& req, int err) const {
        bytes b(NLMSG_HDRLEN + sizeof(nlmsgerr), 0);
        nlmsghdr h{};
        h.nlmsg_len = static_cast<std::uint32_t>(b.size());
        h.nlmsg_type = NLMSG_ERROR;
        h.nlmsg_seq = req.nlmsg_seq;
        std::memcpy(b.data(), &h, sizeof h);
        nlmsgerr e{};
        e.error = -err;
        e.msg = req;
        std::memcpy(&b[NLMSG_HDRLEN], &e, sizeof e);
        return b;
    }

    // Returns a positive errno for an error answer, 0 for success.
    int apply_one(const std::uint8_t* m, const nlmsghdr& h) {
        if ((h.nlmsg_type >> 8) != NFNL_SUBSYS_QUEUE) return EINVAL;
        const auto type = h.nlmsg_type & 0xff;
        config_seen cfg;
        std::optional<nfqnl_msg_verdict_hdr> vh;
        std::optional<std::uint32_t> mark;
        for (std::size_t a = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nfgenmsg)); a + 4 <= h.nlmsg_len;) {
            nlattr at;
            std::memcpy(&at, m + a, sizeof at);
            if (at.nla_len < 4) return EINVAL;
            const std::uint8_t* d = m + a + 4;
            std::uint32_t v = 0;
            if (at.nla_len >= 8) {
                std::memcpy(&v, d, 4);
                v = ntohl(v);
            }
            if (type == NFQNL_MSG_CONFIG) {
                switch (at.nla_type & NLA_TYPE_MASK) {
                    case NFQA_CFG_CMD: cfg.cmd = d[0]; break;
                    case NFQA_CFG_FLAGS: ++cfg.flag_attrs; cfg.flags = v; break;
                    case NFQA_CFG_MASK: ++cfg.mask_attrs; cfg.mask = v; break;
                    case NFQA_CFG_QUEUE_MAXLEN: cfg.maxlen = v; break;
                    default: break;
                }
            } else if ((at.nla_type & NLA_TYPE_MASK) == NFQA_VERDICT_HDR) {
                nfqnl_msg_verdict_hdr x;
                std::memcpy(&x, d, sizeof x);
                vh = x;
            } else if ((at.nla_type & NLA_TYPE_MASK) == NFQA_MARK) {
                mark = v;
            }
            a += NLA_ALIGN(at.nla_len);
        }
        if (type == NFQNL_MSG_CONFIG) {
            configs.push_back(cfg);
            if (cfg.cmd == NFQNL_CFG_CMD_BIND) bound = true;
            if (cfg.cmd == NFQNL_CFG_CMD_UNBIND) close_socket();
            if (!bound) return ENODEV;
            if (cfg.maxlen) maxlen = *cfg.maxlen;
            flags = (flags & ~cfg.mask) | (cfg.flags & cfg.mask);
            return 0;
        }
        if (!vh) return EINVAL;
        const std::uint32_t id = ntohl(vh->id);
        const std::uint32_t verdict = ntohl(vh->verdict);
        if (type == NFQNL_MSG_VERDICT) {
            const auto it = std::find(queued.begin(), queued.end(), id);
            if (it == queued.end()) {
                ++unknown_ids;
                return ENOENT;
            }
            queued.erase(it);
            verdicts.push_back({id, verdict, mark, false});
            return 0;
        }
        if (type == NFQNL_MSG_VERDICT_BATCH) {
            std::size_t n = 0;
            while (!queued.empty() && static_cast<std::int32_t>(queued.front() - id) <= 0) {
                verdicts.push_back({queued.front(), verdict, mark, true});
                queued.pop_front();
                ++n;
            }
            if (n == 0) {
                ++unknown_ids;
                return ENOENT;
            }
            return 0;
        }
        return EINVAL;
    }
};

class kernel_queue_model final : public netlink_channel {
public:
    explicit kernel_queue_model(std::shared_ptr<kernel_queue_state> s) : s_(std::move(s)) {}

    std::uint32_t portid() const noexcept override { return 4242; }
    int receive_buffer_bytes() const noexcept override { return 1 << 20; }

    int receive(mmsghdr* msgs, unsigned vlen, bool) noexcept override {
        ++s_->receive_calls;
        if (!s_->receive_errors.empty()) {
            const int e = s_->receive_errors.front();
            s_->receive_errors.pop_front();
            return -e;
        }
        if (s_->socket.empty()) return -EAGAIN;
        unsigned n = 0;
        for (; n < vlen && !s_->socket.empty(); ++n) {
            const auto& d = s_->socket.front();
            iovec& io = msgs[n].msg_hdr.msg_iov[0];
            const std::size_t len = std::min(d.size(), io.iov_len);
            std::memcpy(io.iov_base, d.data(), len);
            msgs[n].msg_len = static_cast<unsigned>(len);
            msgs[n].msg_hdr.msg_flags = d.size() > io.iov_len ? MSG_TRUNC : 0;
            s_->socket.pop_front();
        }
        return static_cast<int>(n);
    }
    void set_receive_timeout(std::chrono::milliseconds) noexcept override {}
    bool wait_readable(std::chrono::milliseconds) noexcept override {
        return !s_->socket.empty() || !s_->receive_errors.empty();
    }
    long send(const void* buf, std::size_t len) noexcept override {
        ++s_->send_calls;
        if (s_->fail_sends > 0) {
            --s_->fail_sends;
            return -ENOBUFS;
        }
        const int r = s_->apply(static_cast<const std::uint8_t*>(buf), len);
        return r < 0 ? r : static_cast<long>(len);
    }
    void close() noexcept override { s_->close_socket(); }

private:
    std::shared_ptr<kernel_queue_state> s_;
};

}  // namespace pbxgate::test
