// packet_view: what the parser proved about a packet, or why it could not.
// Zero-copy: `payload` points into the caller's buffer, which must outlive the view.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "pbxgate/address.hpp"

namespace pbxgate {

enum class parse_error : std::uint8_t {
    none = 0,
    empty,                  // zero bytes
    bad_version,            // first nibble neither 4 nor 6
    truncated_ip_header,    // fewer captured bytes than the fixed IP header
    bad_ihl,                // IPv4 IHL < 5, or options beyond the captured bytes
    bad_total_length,       // IP length field smaller than its header or larger than the wire
    truncated_ext_header,   // IPv6 extension header runs past the packet
    ext_chain_too_long,     // more IPv6 extension headers than we walk (bounded)
    truncated_l4_header,    // TCP/UDP/ICMP header not fully present
    bad_tcp_offset,         // TCP data offset < 5 or past the IP payload
    bad_udp_length,         // UDP length < 8 or larger than the IP payload
    tiny_fragment,          // first fragment too short for the L4 header, or TCP offset-1 overlap
};
inline constexpr unsigned parse_error_count = 12;
std::string_view to_string(parse_error e) noexcept;

// What the kernel (or a capture) tells us beside the bytes.
struct packet_meta {
    bool from_loopback_interface = false;  // NFQA_IFINDEX_INDEV is the loopback device
    std::uint32_t mark = 0;                // NFQA_MARK
    // The input interface is known (the queue path): the localhost zone is then the
    // loopback interface only. Unknown (replay, explain, locally sent packets): a loopback
    // source address stands for it.
    bool interface_known = false;
};

struct packet_view {
    parse_error error = parse_error::none;
    ip_family family = ip_family::v4;
    std::uint8_t protocol = 0;        // final upper-layer protocol (IPPROTO_*), after IPv6 ext headers
    bool is_fragment = false;         // IPv4 MF/offset or an IPv6 fragment header
    bool is_first_fragment = false;   // fragment with offset 0 (carries the L4 header)
    ip_address src;
    ip_address dst;
    std::uint16_t sport = 0;          // host byte order; 0 when the protocol has no ports
    std::uint16_t dport = 0;
    std::uint8_t icmp_type = 0;
    std::uint8_t icmp_code = 0;
    std::uint8_t tcp_flags = 0;
    std::uint16_t l3_header_len = 0;  // IPv4 header with options, or IPv6 header + ext headers
    std::uint32_t ip_length = 0;      // length the IP header claims (bytes on the wire)
    const std::uint8_t* payload = nullptr;  // L4 payload, within the captured bytes
    std::uint32_t payload_len = 0;    // captured payload bytes (may be less than on the wire)
    bool has_ports = false;           // TCP/UDP header read (unfragmented or first fragment)
    bool has_icmp = false;            // ICMP/ICMPv6 type and code read

    bool ok() const noexcept { return error == parse_error::none; }
};

// Parse an IPv4 or IPv6 packet starting at its IP header. `captured` bytes are readable;
// `wire_len` is the packet's length on the wire (>= captured; pass captured when equal).
// Capture snaplen and NFQUEUE copy-range may cut a packet short: that is not an error as
// long as the headers are present. Never reads outside [data, data + captured).
parse_error parse_ip_packet(const std::uint8_t* data, std::size_t captured, std::size_t wire_len,
                            packet_view& out) noexcept;

}  // namespace pbxgate
