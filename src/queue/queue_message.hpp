// parse_queue_message: one NFQUEUE packet message (netlink header, nfgenmsg, attributes)
// into a received_packet. Pure and bounds-checked: it is fuzzed, so it trusts no length
// field and reads through memcpy (receive buffers need not be aligned).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "queue/queue_backend.hpp"

namespace pbxgate {

enum class queue_parse_status : std::uint8_t {
    ok,
    not_queue_packet,        // a valid netlink message of another type (NLMSG_ERROR, ...)
    truncated_netlink_header,  // fewer bytes than nlmsghdr + nfgenmsg
    bad_netlink_length,      // nlmsg_len below the headers or beyond the bytes received
    bad_attribute,           // an attribute shorter than its header or running past the message
    missing_packet_header,   // no NFQA_PACKET_HDR
    bad_packet_header_size,  // NFQA_PACKET_HDR smaller than nfqnl_msg_packet_hdr
    bad_attribute_size,      // a u32 attribute (mark, ifindex, cap len) smaller than 4 bytes
    missing_payload,         // no NFQA_PAYLOAD (copy mode META or copy_range 0)
    bad_capture_length,      // NFQA_CAP_LEN smaller than the payload we got
};
std::string_view to_string(queue_parse_status s) noexcept;

struct queue_parse_result {
    queue_parse_status status = queue_parse_status::ok;
    // True when out.packet_id holds the kernel's id even though parsing failed, so the
    // caller can still verdict the packet instead of leaving it queued.
    bool id_known = false;
    bool ok() const noexcept { return status == queue_parse_status::ok; }
};

// `buf`/`len`: one netlink message as received. With `loopback_ifindex` (0 = unknown) and
// an NFQA_IFINDEX_INDEV, out.meta says the input interface is known and whether it is the
// loopback one. out.data points into `buf`.
queue_parse_result parse_queue_message(const void* buf, std::size_t len, received_packet& out,
                                       std::uint32_t loopback_ifindex = 0) noexcept;

}  // namespace pbxgate
