// netlink_channel: the kernel I/O under nfqueue_backend, one NETLINK_NETFILTER socket.
// The real one is nfnetlink_socket; unit tests put a model of the kernel queue behind it
// (tests/unit/kernel_queue_model.hpp). The calls mirror the syscalls they wrap, so the
// backend makes exactly the syscalls it would make on the socket itself.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace pbxgate {

class netlink_channel {
public:
    virtual ~netlink_channel() = default;
    netlink_channel() = default;
    netlink_channel(const netlink_channel&) = delete;
    netlink_channel& operator=(const netlink_channel&) = delete;

    virtual std::uint32_t portid() const noexcept = 0;
    // The socket receive buffer the kernel granted, in bytes.
    virtual int receive_buffer_bytes() const noexcept = 0;

    // recvmmsg: one datagram per entry of `msgs` (each with one iovec). `wait`: block up to
    // the receive timeout for the first datagram (MSG_WAITFORONE), else take only what is
    // already there (MSG_DONTWAIT). Returns how many were received, or -errno.
    virtual int receive(mmsghdr* msgs, unsigned vlen, bool wait) noexcept = 0;
    // How long receive(wait) blocks; negative: forever. Only called when it changes.
    virtual void set_receive_timeout(std::chrono::milliseconds timeout) noexcept = 0;
    // poll: true when something can be received within `timeout`.
    virtual bool wait_readable(std::chrono::milliseconds timeout) noexcept = 0;
    // One send of `len` bytes (one or more netlink messages). Returns bytes sent or -errno.
    virtual long send(const void* buf, std::size_t len) noexcept = 0;
    // Closes the socket; the kernel unbinds whatever queue it held.
    virtual void close() noexcept = 0;
};

}  // namespace pbxgate
