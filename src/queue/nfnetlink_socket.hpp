// nfnetlink_socket: the real netlink_channel, a NETLINK_NETFILTER socket opened and bound
// with libmnl.
#pragma once

#include <cstdint>

#include "queue/netlink_channel.hpp"

struct mnl_socket;

namespace pbxgate {

class nfnetlink_socket final : public netlink_channel {
public:
    // Opens and binds the socket and asks for `receive_buffer` bytes of receive buffer
    // (SO_RCVBUFFORCE, else SO_RCVBUF capped by net.core.rmem_max). Throws
    // std::runtime_error saying what failed.
    explicit nfnetlink_socket(int receive_buffer);
    ~nfnetlink_socket() override;

    std::uint32_t portid() const noexcept override { return portid_; }
    int receive_buffer_bytes() const noexcept override { return rcvbuf_bytes_; }
    int receive(mmsghdr* msgs, unsigned vlen, bool wait) noexcept override;
    void set_receive_timeout(std::chrono::milliseconds timeout) noexcept override;
    bool wait_readable(std::chrono::milliseconds timeout) noexcept override;
    long send(const void* buf, std::size_t len) noexcept override;
    void close() noexcept override;

private:
    mnl_socket* nl_ = nullptr;
    int fd_ = -1;
    std::uint32_t portid_ = 0;
    int rcvbuf_bytes_ = 0;
};

}  // namespace pbxgate
