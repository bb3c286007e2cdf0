// nfq_accept_all: the best accept-everything NFQUEUE loop, on nfqueue_backend: a burst per
// receive syscall, the burst's verdicts in one send. No classification: it measures the
// kernel I/O layer alone. Needs root (CAP_NET_ADMIN) and an iptables NFQUEUE rule.
//   nfq_accept_all --queue 0 --seconds 10
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <vector>

#include "queue/kernel_queue_stats.hpp"
#include "queue/nfqueue_backend.hpp"

namespace {
std::atomic<bool> stop_requested{false};
void on_signal(int) { stop_requested.store(true); }

void install_signal_handlers() {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: the blocking receive must return EINTR
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
}
}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"nfq_accept_all: burst receive + batched verdicts, accept everything"};
    pbxgate::nfqueue_settings settings;
    double seconds = 10;
    bool smoke = false;
    unsigned drop_every = 0;
    app.add_option("--queue", settings.queue_num, "NFQUEUE queue number")->capture_default_str();
    app.add_option("--seconds", seconds, "run at most this long")->capture_default_str()->check(CLI::Range(0.0, 86400.0));
    app.add_option("--burst", settings.burst, "packets per receive syscall")->capture_default_str();
    app.add_option("--copy-range", settings.copy_range, "bytes copied per packet")->capture_default_str();
    app.add_option("--maxlen", settings.queue_maxlen, "kernel queue length")->capture_default_str();
    app.add_option("--drop-every", drop_every,
                   "correctness check: drop every K-th packet (by id) to mix verdicts in a burst; 0 = never");
    app.add_flag("--fail-open", settings.overflow_accept, "accept instead of drop when the queue is full");
    app.add_flag("--smoke", smoke, "print what it would do and exit 0 (no root needed)");
    CLI11_PARSE(app, argc, argv);
    if (smoke) {
        std::printf("nfq_accept_all --queue %u --seconds %g --burst %zu: smoke only, not binding\n",
                    unsigned{settings.queue_num}, seconds, settings.burst);
        return 0;
    }

    install_signal_handlers();
    std::unique_ptr<pbxgate::nfqueue_backend> q;
    try {
        q = std::make_unique<pbxgate::nfqueue_backend>(settings);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "nfq_accept_all: %s\n", e.what());
        return 1;
    }
    std::printf("bound queue %u, rcvbuf %d\n", unsigned{settings.queue_num}, q->receive_buffer_bytes());
    std::fflush(stdout);

    std::vector<pbxgate::received_packet> burst(settings.burst);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (!stop_requested.load() && std::chrono::steady_clock::now() < deadline) {
        const auto r = q->receive_burst(burst, std::chrono::milliseconds(200));
        for (std::size_t i = 0; i < r.count; ++i) {
            const auto id = burst[i].packet_id;
            const bool drop = drop_every != 0 && id % drop_every == 0;
            q->set_verdict(id, drop ? pbxgate::verdict::drop : pbxgate::verdict::accept);
        }
        q->flush();
    }
    const std::size_t drained = q->drain(pbxgate::verdict::accept);

    const auto& s = q->stats();
    std::printf("packets=%llu bursts=%llu mean_burst=%.2f recv_calls=%llu send_calls=%llu "
                "verdict_msgs=%llu batch_msgs=%llu drained=%zu enobufs=%llu netlink_errors=%llu parse_errors=%llu\n",
                static_cast<unsigned long long>(s.packets), static_cast<unsigned long long>(s.bursts),
                s.bursts ? static_cast<double>(s.packets) / static_cast<double>(s.bursts) : 0.0,
                static_cast<unsigned long long>(s.recv_calls), static_cast<unsigned long long>(s.send_calls),
                static_cast<unsigned long long>(s.verdict_messages), static_cast<unsigned long long>(s.batch_messages),
                drained, static_cast<unsigned long long>(s.enobufs), static_cast<unsigned long long>(s.netlink_errors),
                static_cast<unsigned long long>(s.parse_errors));
    if (auto k = pbxgate::read_kernel_queue_stats()) {
        for (const auto& ks : *k)
            if (ks.queue_num == settings.queue_num)
                std::printf("kernel: queue_total=%u queue_dropped=%u user_dropped=%u id_sequence=%u\n", ks.queue_total,
                            ks.queue_dropped, ks.user_dropped, ks.id_sequence);
    }
    return 0;
}
