// udp_blast: a bounded UDP flood, to measure the engine in the namespace testbed
// (scripts/demo). Python cannot send fast enough to load the engine; this sends with
// sendmmsg in batches on a connected socket. It stops at --count datagrams or after
// --seconds, whichever comes first, and prints one JSON line: sent, errors, seconds, pps.
//   udp_blast --src 192.0.2.10 --dst 192.0.2.1 --port 12000 --count 200000 --seconds 10
#include <CLI/CLI.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

// An IPv4 or IPv6 literal with a port; false when TEXT is neither.
bool make_address(const std::string& text, std::uint16_t port, sockaddr_storage& out, socklen_t& len) {
    std::memset(&out, 0, sizeof out);
    auto* v4 = reinterpret_cast<sockaddr_in*>(&out);
    if (inet_pton(AF_INET, text.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        len = sizeof(sockaddr_in);
        return true;
    }
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&out);
    if (inet_pton(AF_INET6, text.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        len = sizeof(sockaddr_in6);
        return true;
    }
    return false;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"bounded UDP flood for the testbed (sendmmsg)"};
    std::string src, dst;
    std::uint16_t port = 12000;
    std::uint64_t count = 200000;
    double seconds = 10;
    std::size_t size = 32;
    unsigned batch = 64;
    app.add_option("--src", src, "source address (bound, port chosen by the kernel)")->required();
    app.add_option("--dst", dst, "destination address")->required();
    app.add_option("--port", port, "destination UDP port");
    app.add_option("--count", count, "datagrams to send at most")->check(CLI::Range(std::uint64_t{1}, std::uint64_t{100'000'000}));
    app.add_option("--seconds", seconds, "stop after this long whatever was sent")->check(CLI::Range(0.1, 600.0));
    app.add_option("--size", size, "UDP payload bytes")->check(CLI::Range(std::size_t{1}, std::size_t{1400}));
    app.add_option("--batch", batch, "datagrams per sendmmsg call")->check(CLI::Range(1u, 1024u));
    CLI11_PARSE(app, argc, argv);

    sockaddr_storage from{}, to{};
    socklen_t from_len = 0, to_len = 0;
    if (!make_address(src, 0, from, from_len) || !make_address(dst, port, to, to_len) || from.ss_family != to.ss_family) {
        std::fprintf(stderr, "udp_blast: --src and --dst must be IP literals of the same family\n");
        return 2;
    }
    const int fd = socket(to.ss_family, SOCK_DGRAM, 0);
    if (fd < 0 || bind(fd, reinterpret_cast<const sockaddr*>(&from), from_len) != 0 ||
        connect(fd, reinterpret_cast<const sockaddr*>(&to), to_len) != 0) {
        std::fprintf(stderr, "udp_blast: socket/bind/connect: %s\n", std::strerror(errno));
        return 1;
    }

    std::vector<char> payload(size, 'x');
    std::vector<iovec> iov(batch);
    std::vector<mmsghdr> msgs(batch);
    for (unsigned i = 0; i < batch; ++i) {
        iov[i] = {payload.data(), payload.size()};
        msgs[i] = {};
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }

    using clock = std::chrono::steady_clock;
    const auto start = clock::now();
    const auto deadline = start + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(seconds));
    std::uint64_t sent = 0, errors = 0;
    while (sent < count && clock::now() < deadline) {
        const auto n = static_cast<unsigned>(std::min<std::uint64_t>(batch, count - sent));
        const int r = sendmmsg(fd, msgs.data(), n, 0);
        if (r < 0) {
            // A full device or socket queue is back-pressure, not failure: retry until the deadline.
            if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR || errno == ECONNREFUSED) {
                ++errors;
                continue;
            }
            std::fprintf(stderr, "udp_blast: sendmmsg: %s\n", std::strerror(errno));
            close(fd);
            return 1;
        }
        sent += static_cast<std::uint64_t>(r);
    }
    const double took = std::chrono::duration<double>(clock::now() - start).count();
    close(fd);
    std::printf("{\"sent\":%llu,\"errors\":%llu,\"seconds\":%.6f,\"pps\":%.0f}\n", static_cast<unsigned long long>(sent),
                static_cast<unsigned long long>(errors), took, took > 0 ? static_cast<double>(sent) / took : 0.0);
    return 0;
}
