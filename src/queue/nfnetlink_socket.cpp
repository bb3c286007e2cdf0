#include "queue/nfnetlink_socket.hpp"

#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sys/time.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace pbxgate {

nfnetlink_socket::nfnetlink_socket(int receive_buffer) {
    nl_ = mnl_socket_open(NETLINK_NETFILTER);
    if (nl_ == nullptr)
        throw std::runtime_error(std::string("cannot open a NETLINK_NETFILTER socket: ") + std::strerror(errno));
    if (mnl_socket_bind(nl_, 0, MNL_SOCKET_AUTOPID) < 0) {
        const int err = errno;
        mnl_socket_close(nl_);
        throw std::runtime_error(std::string("cannot bind the netlink socket: ") + std::strerror(err));
    }
    fd_ = mnl_socket_get_fd(nl_);
    portid_ = mnl_socket_get_portid(nl_);
    if (setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &receive_buffer, sizeof receive_buffer) != 0)
        setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    socklen_t optlen = sizeof rcvbuf_bytes_;
    getsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf_bytes_, &optlen);
}

nfnetlink_socket::~nfnetlink_socket() { close(); }

int nfnetlink_socket::receive(mmsghdr* msgs, unsigned vlen, bool wait) noexcept {
    const int n = recvmmsg(fd_, msgs, vlen, wait ? MSG_WAITFORONE : MSG_DONTWAIT, nullptr);
    return n < 0 ? -errno : n;
}

void nfnetlink_socket::set_receive_timeout(std::chrono::milliseconds timeout) noexcept {
    timeval tv{};
    if (timeout.count() > 0) {
        tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
        tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
    } else if (timeout.count() == 0) {
        tv.tv_usec = 1;  // 0 would mean "forever" to SO_RCVTIMEO
    }
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

bool nfnetlink_socket::wait_readable(std::chrono::milliseconds timeout) noexcept {
    pollfd p{fd_, POLLIN, 0};
    int pr;
    do {
        pr = poll(&p, 1, static_cast<int>(timeout.count() < 0 ? 0 : timeout.count()));
    } while (pr < 0 && errno == EINTR);
    return pr > 0;
}

long nfnetlink_socket::send(const void* buf, std::size_t len) noexcept {
    const ssize_t n = ::send(fd_, buf, len, 0);
    return n < 0 ? -errno : static_cast<long>(n);
}

void nfnetlink_socket::close() noexcept {
    if (nl_ == nullptr) return;
    mnl_socket_close(nl_);
    nl_ = nullptr;
    fd_ = -1;
}

}  // namespace pbxgate
