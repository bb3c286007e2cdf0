// blast: a bounded, paced sendmmsg replayer for the end-to-end benchmark. It sends the IP
// packets of a capture (link headers dropped; the kernel adds Ethernet toward --dmac) out
// of one interface at --pps, in batches, looping over the capture, and stops at --count
// packets or --seconds, whichever comes first. It sleeps between batches instead of
// spinning, so its CPU time is the cost of sending, not of waiting (tcpreplay's busy
// wait would hide the receiver's cost in the machine-wide figure). Needs CAP_NET_RAW.
//   blast --if eth0 --dmac 02:..:01 --pps 50000 --seconds 3 --count 1000000 CAPTURE
// Prints one line: sent=N seconds=T pps=R errors=E cpu_ns=C (its own CPU time).
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "pbxgate/capture.hpp"

namespace {

double now_s(clockid_t c) {
    timespec ts{};
    clock_gettime(c, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

bool parse_mac(const char* s, unsigned char (&mac)[8]) {
    unsigned v[6];
    if (std::sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6) return false;
    for (int i = 0; i < 6; ++i) {
        if (v[i] > 255) return false;
        mac[i] = static_cast<unsigned char>(v[i]);
    }
    return true;
}

int usage(const char* why) {
    std::fprintf(stderr,
                 "blast: %s\nusage: blast --if IFACE --dmac MAC --pps N --seconds S [--count N] [--batch N] CAPTURE\n",
                 why);
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    std::string iface, capture;
    unsigned char dmac[8] = {};
    bool have_mac = false;
    double pps = 10000, seconds = 1;
    unsigned long long count = ~0ull;
    unsigned batch = 32;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        const bool has_value = i + 1 < argc;
        if (a == "--smoke") {
            std::printf("blast: smoke only, sends nothing\n");
            return 0;
        } else if (a == "--if" && has_value) {
            iface = argv[++i];
        } else if (a == "--dmac" && has_value) {
            if (!parse_mac(argv[++i], dmac)) return usage("--dmac wants aa:bb:cc:dd:ee:ff");
            have_mac = true;
        } else if (a == "--pps" && has_value) {
            pps = std::atof(argv[++i]);
        } else if (a == "--seconds" && has_value) {
            seconds = std::atof(argv[++i]);
        } else if (a == "--count" && has_value) {
            count = std::strtoull(argv[++i], nullptr, 10);
        } else if (a == "--batch" && has_value) {
            batch = static_cast<unsigned>(std::atoi(argv[++i]));
        } else if (!a.empty() && a[0] != '-' && capture.empty()) {
            capture = a;
        } else {
            return usage(("bad argument " + a).c_str());
        }
    }
    if (iface.empty() || !have_mac || capture.empty()) return usage("--if, --dmac and CAPTURE are required");
    if (!(pps > 0 && pps <= 1e8) || !(seconds > 0 && seconds <= 3600) || batch == 0 || batch > 1024)
        return usage("--pps in (0, 1e8], --seconds in (0, 3600], --batch in 1..1024");

    pbxgate::capture_contents c;
    try {
        c = pbxgate::read_capture(capture);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "blast: %s\n", e.what());
        return 1;
    }
    if (c.packets.empty()) {
        std::fprintf(stderr, "blast: %s holds no IP packet\n", capture.c_str());
        return 1;
    }

    const int fd = socket(AF_PACKET, SOCK_DGRAM, 0);
    const unsigned ifindex = if_nametoindex(iface.c_str());
    if (fd < 0 || ifindex == 0) {
        std::fprintf(stderr, "blast: %s: %s\n", fd < 0 ? "AF_PACKET socket" : iface.c_str(), std::strerror(errno));
        return 1;
    }
    int sndbuf = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);

    // One destination per family, and the messages of one full pass of the capture.
    sockaddr_ll to4{}, to6{};
    for (auto* to : {&to4, &to6}) {
        to->sll_family = AF_PACKET;
        to->sll_ifindex = static_cast<int>(ifindex);
        to->sll_halen = 6;
        std::memcpy(to->sll_addr, dmac, 6);
    }
    to4.sll_protocol = htons(ETH_P_IP);
    to6.sll_protocol = htons(ETH_P_IPV6);
    const std::size_t n = c.packets.size();
    std::vector<iovec> iov(n);
    std::vector<mmsghdr> msgs(n);
    for (std::size_t i = 0; i < n; ++i) {
        auto& p = c.packets[i].ip;
        iov[i] = {p.data(), p.size()};
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_name = !p.empty() && (p[0] >> 4) == 6 ? &to6 : &to4;
        msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_ll);
    }

    const double cpu0 = now_s(CLOCK_PROCESS_CPUTIME_ID);
    const double start = now_s(CLOCK_MONOTONIC);
    unsigned long long sent = 0, errors = 0;
    std::size_t at = 0;
    while (sent < count) {
        // Pace by the schedule, not by the previous batch: a late batch does not slow the
        // whole run down, and the offered rate stays the one asked for.
        const double due = start + static_cast<double>(sent) / pps;
        double t = now_s(CLOCK_MONOTONIC);
        if (t - start >= seconds) break;
        if (due > t) {
            const double wait = due - t;
            timespec ts{static_cast<time_t>(wait), static_cast<long>((wait - static_cast<double>(static_cast<time_t>(wait))) * 1e9)};
            nanosleep(&ts, nullptr);
        }
        const auto want = static_cast<unsigned>(std::min<unsigned long long>({batch, n - at, count - sent}));
        const int r = sendmmsg(fd, &msgs[at], want, 0);
        if (r <= 0) {
            ++errors;
            if (errno != ENOBUFS && errno != EAGAIN && errno != EINTR) {
                std::fprintf(stderr, "blast: sendmmsg: %s\n", std::strerror(errno));
                break;
            }
            continue;
        }
        sent += static_cast<unsigned>(r);
        at = (at + static_cast<unsigned>(r)) % n;
    }
    const double elapsed = now_s(CLOCK_MONOTONIC) - start;
    const double cpu = now_s(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
    std::printf("sent=%llu seconds=%.3f pps=%.0f errors=%llu cpu_ns=%.0f\n", sent, elapsed,
                static_cast<double>(sent) / elapsed, errors, cpu * 1e9);
    return 0;
}
