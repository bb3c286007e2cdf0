// nfq_textbook: the textbook NFQUEUE loop (libnetfilter_queue's nf-queue example, libmnl):
// one recv and one verdict send per packet, accept everything. The baseline that
// nfq_accept_all is measured against. Needs root and an iptables NFQUEUE rule.
//   nfq_textbook --queue 0 --seconds 10
#include <CLI/CLI.hpp>

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <vector>

namespace {
std::atomic<bool> stop_requested{false};
void on_signal(int) { stop_requested.store(true); }

struct loop_state {
    mnl_socket* nl = nullptr;
    std::uint16_t queue = 0;
    unsigned long long packets = 0, recv_calls = 0, send_calls = 0, send_errors = 0;
};

bool send_verdict(loop_state& st, std::uint32_t id) {
    alignas(nlmsghdr) char buf[8192];
    nlmsghdr* nlh = nfq_nlmsg_put(buf, NFQNL_MSG_VERDICT, st.queue);
    nfq_nlmsg_verdict_put(nlh, static_cast<int>(id), NF_ACCEPT);
    ++st.send_calls;
    if (mnl_socket_sendto(st.nl, nlh, nlh->nlmsg_len) < 0) {
        ++st.send_errors;
        return false;
    }
    return true;
}

int on_packet(const nlmsghdr* nlh, void* data) {
    auto& st = *static_cast<loop_state*>(data);
    nlattr* attr[NFQA_MAX + 1] = {};
    if (nfq_nlmsg_parse(nlh, attr) < 0 || attr[NFQA_PACKET_HDR] == nullptr) return MNL_CB_OK;
    const auto* ph = static_cast<const nfqnl_msg_packet_hdr*>(mnl_attr_get_payload(attr[NFQA_PACKET_HDR]));
    ++st.packets;
    send_verdict(st, ntohl(ph->packet_id));
    return MNL_CB_OK;
}

int configure(loop_state& st, std::uint32_t copy_range) {
    alignas(nlmsghdr) char buf[8192];
    nlmsghdr* nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, st.queue);
    nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_BIND);
    nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, static_cast<int>(copy_range));
    mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(NFQA_CFG_F_GSO));
    mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(NFQA_CFG_F_GSO));
    nlh->nlmsg_flags |= NLM_F_ACK;
    nlh->nlmsg_seq = 1;
    if (mnl_socket_sendto(st.nl, nlh, nlh->nlmsg_len) < 0) return errno;
    const ssize_t n = mnl_socket_recvfrom(st.nl, buf, sizeof buf);
    if (n < 0) return errno;
    if (mnl_cb_run(buf, static_cast<size_t>(n), 1, mnl_socket_get_portid(st.nl), nullptr, nullptr) < 0) return errno;
    return 0;
}
}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"nfq_textbook: one recv + one verdict send per packet, accept everything"};
    std::uint16_t queue = 0;
    std::uint32_t copy_range = 0xffff;
    double seconds = 10;
    bool smoke = false;
    app.add_option("--queue", queue, "NFQUEUE queue number")->capture_default_str();
    app.add_option("--seconds", seconds, "run at most this long")->capture_default_str()->check(CLI::Range(0.0, 86400.0));
    app.add_option("--copy-range", copy_range, "bytes copied per packet")->capture_default_str();
    app.add_flag("--smoke", smoke, "print what it would do and exit 0 (no root needed)");
    CLI11_PARSE(app, argc, argv);
    if (smoke) {
        std::printf("nfq_textbook --queue %u --seconds %g: smoke only, not binding\n", unsigned{queue}, seconds);
        return 0;
    }

    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);

    loop_state st;
    st.queue = queue;
    st.nl = mnl_socket_open(NETLINK_NETFILTER);
    if (st.nl == nullptr || mnl_socket_bind(st.nl, 0, MNL_SOCKET_AUTOPID) < 0) {
        std::perror("nfq_textbook: netlink socket");
        return 1;
    }
    if (const int err = configure(st, copy_range)) {
        std::fprintf(stderr, "nfq_textbook: binding queue %u failed: %s\n", unsigned{queue}, std::strerror(err));
        mnl_socket_close(st.nl);
        return 1;
    }
    // The timeout lets the loop see the stop flag and the deadline.
    const timeval tv{0, 200000};
    setsockopt(mnl_socket_get_fd(st.nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

    std::vector<char> buf(0xffff + 4096);
    const unsigned portid = mnl_socket_get_portid(st.nl);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    unsigned long long enobufs = 0;
    auto receive_one = [&](int flags) -> bool {
        ++st.recv_calls;
        const ssize_t n = recv(mnl_socket_get_fd(st.nl), buf.data(), buf.size(), flags);
        if (n < 0) {
            if (errno == ENOBUFS) ++enobufs;
            return errno == ENOBUFS;
        }
        mnl_cb_run(buf.data(), static_cast<size_t>(n), 0, portid, on_packet, &st);
        return true;
    };
    while (!stop_requested.load() && std::chrono::steady_clock::now() < deadline) receive_one(0);
    // Drain: answer everything still waiting before the socket closes.
    const unsigned long long before = st.packets;
    while (receive_one(MSG_DONTWAIT)) {
    }
    mnl_socket_close(st.nl);
    std::printf("packets=%llu recv_calls=%llu send_calls=%llu send_errors=%llu drained=%llu enobufs=%llu\n",
                st.packets, st.recv_calls, st.send_calls, st.send_errors, st.packets - before, enobufs);
    return 0;
}
