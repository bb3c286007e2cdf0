// parse_ip_packet: IPv4/IPv6 (+ IPv6 extension headers) and TCP/UDP/ICMP headers into a
// zero-copy packet_view.
//
// Semantics the classifier relies on:
// * Bounds: every read is preceded by a check against `captured` (and against the IP
//   length), so the parser never reads outside [data, data + captured).
// * Short captures are normal: snaplen and NFQUEUE copy-range cut packets, so
//   `captured < wire_len` is fine as long as the headers we need are present. Ethernet
//   padding makes `wire_len` larger than the IP length: we trim to the IP length. An IP
//   length LARGER than `wire_len` is a lie and gives bad_total_length.
// * No checksum is verified: on the NFQUEUE path the kernel already did, and captures
//   often carry offloaded (not yet filled-in) checksums that would look wrong.
// * Fragments: only the first fragment (offset 0) carries the L4 header, so only it gets
//   ports/ICMP fields. A non-first fragment sets `protocol` and nothing from L4, with no
//   error - except a TCP fragment at offset 1 (8 bytes), the RFC 1858 overlap attack that
//   could rewrite the TCP flags, which is tiny_fragment. A first fragment whose IP length
//   cannot hold the whole L4 header (TCP 20, UDP 8, ICMP 4) is also tiny_fragment
//   (RFC 1858 for IPv4, RFC 7112 for IPv6). The same two rules apply to IPv6 fragments.
// * IPv6: the extension-header chain is walked, bounded to max_ext_headers so a crafted
//   chain costs a fixed amount of work. ESP (50), no-next-header (59) and anything we do
//   not know end the walk with `protocol` set to it.
// * GRO/GSO super-packets: the queue is bound with NFQA_CFG_F_GSO, so TCP packets larger
//   than 64 KiB arrive whole with IPv4 total length 0 or IPv6 payload length 0 (BIG TCP,
//   with or without a hop-by-hop jumbo option). As the kernel's skb_ip_totlen /
//   ipv6_payload_len do for GSO TCP, their length is the buffer's (wire_len). The kernel
//   drops any other packet with a zero length before our hook, so a zero length on
//   anything but an unfragmented TCP packet stays bad_total_length.
// * `payload`/`payload_len`: captured bytes after the L4 header (TCP data offset, UDP 8,
//   ICMP 8 or what is captured), trimmed to the IP length (and to the UDP length for an
//   unfragmented datagram). For a non-first fragment or a protocol we do not parse, it is
//   everything after the IP header chain. It never extends past `captured`.
// * On error, fields parsed before the failing check stay set; callers must test ok().
//
// Performance: the common IPv4 / unfragmented / UDP path is a handful of compares and
// unaligned loads (folded into plain moves by the compiler); nothing allocates.
#include "pbxgate/packet.hpp"

#include <algorithm>
#include <cstring>

#include "util/byte_order.hpp"

namespace pbxgate {
namespace {

constexpr std::size_t ipv4_min_header = 20;
constexpr std::size_t ipv6_header = 40;
constexpr std::size_t tcp_min_header = 20;
constexpr std::size_t udp_header = 8;
constexpr std::size_t icmp_min_header = 4;  // type, code, checksum: all we read
constexpr std::size_t icmp_header = 8;      // + the rest-of-header word; payload starts here
constexpr std::size_t ipv6_fragment_header = 8;
// RFC 8200 allows any number of extension headers; real traffic carries at most a few.
// Bounding the walk caps the per-packet cost against crafted chains.
constexpr unsigned max_ext_headers = 8;

namespace proto {
constexpr std::uint8_t hop_by_hop = 0;
constexpr std::uint8_t icmp = 1;
constexpr std::uint8_t tcp = 6;
constexpr std::uint8_t udp = 17;
constexpr std::uint8_t routing = 43;
constexpr std::uint8_t fragment = 44;
constexpr std::uint8_t ah = 51;
constexpr std::uint8_t icmpv6 = 58;
constexpr std::uint8_t dest_options = 60;
constexpr std::uint8_t mobility = 135;
constexpr std::uint8_t hip = 139;
constexpr std::uint8_t shim6 = 140;
}  // namespace proto

inline parse_error fail(packet_view& out, parse_error e) noexcept {
    out.error = e;
    return e;
}

// Points the payload at [start, cap_end), clamped so it never leaves the captured bytes.
inline void set_payload(const std::uint8_t* data, std::size_t start, std::size_t cap_end,
                        packet_view& out) noexcept {
    start = std::min(start, cap_end);
    out.payload = data + start;
    out.payload_len = static_cast<std::uint32_t>(cap_end - start);
}

// `l4`: offset of the L4 header; `cap_end`: min(captured, ip_end); `ip_end`: the IP
// length. `first_fragment`: the L4 header must fit in this fragment, but a UDP length may
// cover later fragments.
parse_error parse_l4(const std::uint8_t* data, std::size_t l4, std::size_t cap_end,
                     std::size_t ip_end, bool first_fragment, std::uint8_t icmp_protocol,
                     packet_view& out) noexcept {
    const std::size_t l4_len_ip = ip_end - l4;          // L4 bytes per the IP header
    const std::size_t l4_captured = cap_end > l4 ? cap_end - l4 : 0;
    const std::uint8_t* h = data + l4;

    if (out.protocol == proto::udp) {
        if (first_fragment && l4_len_ip < udp_header) return fail(out, parse_error::tiny_fragment);
        if (l4_captured < udp_header) return fail(out, parse_error::truncated_l4_header);
        const std::size_t udp_len = load_be16(h + 4);
        if (udp_len < udp_header || (!first_fragment && udp_len > l4_len_ip))
            return fail(out, parse_error::bad_udp_length);
        out.sport = load_be16(h);
        out.dport = load_be16(h + 2);
        out.has_ports = true;
        set_payload(data, l4 + udp_header, std::min(cap_end, l4 + udp_len), out);
        return parse_error::none;
    }
    if (out.protocol == proto::tcp) {
        if (first_fragment && l4_len_ip < tcp_min_header)
            return fail(out, parse_error::tiny_fragment);
        if (l4_captured < tcp_min_header) return fail(out, parse_error::truncated_l4_header);
        const std::size_t doff = (std::size_t{h[12]} >> 4) * 4;
        if (doff < tcp_min_header || doff > l4_len_ip) return fail(out, parse_error::bad_tcp_offset);
        out.sport = load_be16(h);
        out.dport = load_be16(h + 2);
        out.tcp_flags = h[13];
        out.has_ports = true;
        set_payload(data, l4 + doff, cap_end, out);
        return parse_error::none;
    }
    if (out.protocol == icmp_protocol) {
        if (first_fragment && l4_len_ip < icmp_min_header)
            return fail(out, parse_error::tiny_fragment);
        if (l4_captured < icmp_min_header) return fail(out, parse_error::truncated_l4_header);
        out.icmp_type = h[0];
        out.icmp_code = h[1];
        out.has_icmp = true;
        set_payload(data, l4 + icmp_header, cap_end, out);
        return parse_error::none;
    }
    // SCTP, GRE, IPIP, ESP, ...: not ours to parse; hand the rest over as payload.
    set_payload(data, l4, cap_end, out);
    return parse_error::none;
}

parse_error parse_ipv4(const std::uint8_t* data, std::size_t captured, std::size_t wire,
                       packet_view& out) noexcept {
    out.family = ip_family::v4;
    if (captured < ipv4_min_header) return fail(out, parse_error::truncated_ip_header);
    const std::size_t ihl = std::size_t{data[0] & 0x0fu} * 4;
    if (ihl < ipv4_min_header || ihl > captured) return fail(out, parse_error::bad_ihl);
    std::size_t total = load_be16(data + 2);
    if (total == 0 && data[9] == proto::tcp && (load_be16(data + 6) & 0x3fffu) == 0) total = wire;  // GSO
    if (total < ihl || total > wire) return fail(out, parse_error::bad_total_length);

    out.ip_length = static_cast<std::uint32_t>(total);
    out.l3_header_len = static_cast<std::uint16_t>(ihl);
    out.protocol = data[9];
    out.src.family = ip_family::v4;
    out.dst.family = ip_family::v4;
    std::memcpy(out.src.bytes.data(), data + 12, 4);
    std::memcpy(out.dst.bytes.data(), data + 16, 4);
    const std::size_t cap_end = std::min(captured, total);  // drops Ethernet padding

    const std::uint16_t frag = load_be16(data + 6);
    const bool fragmented = (frag & 0x3fffu) != 0;  // MF flag or a non-zero offset
    if (fragmented) [[unlikely]] {
        out.is_fragment = true;
        const unsigned offset = frag & 0x1fffu;  // in 8-byte units
        if (offset != 0) {
            // Offset 1 lets this fragment overwrite bytes 8..15 of the TCP header (flags
            // included) after the first fragment was checked: RFC 1858.
            if (offset == 1 && out.protocol == proto::tcp)
                return fail(out, parse_error::tiny_fragment);
            set_payload(data, ihl, cap_end, out);
            return parse_error::none;
        }
        out.is_first_fragment = true;
    }
    return parse_l4(data, ihl, cap_end, total, fragmented, proto::icmp, out);
}

parse_error parse_ipv6(const std::uint8_t* data, std::size_t captured, std::size_t wire,
                       packet_view& out) noexcept {
    out.family = ip_family::v6;
    if (captured < ipv6_header) return fail(out, parse_error::truncated_ip_header);
    const std::size_t payload_length = load_be16(data + 4);
    // Payload length 0: a GSO TCP super-packet (BIG TCP), as long as the buffer; the walk
    // below checks that it is unfragmented TCP.
    const bool gso = payload_length == 0;
    const std::size_t total = gso ? wire : ipv6_header + payload_length;
    if (total <= ipv6_header || total > wire) return fail(out, parse_error::bad_total_length);

    out.ip_length = static_cast<std::uint32_t>(total);
    out.src.family = ip_family::v6;
    out.dst.family = ip_family::v6;
    std::memcpy(out.src.bytes.data(), data + 8, 16);
    std::memcpy(out.dst.bytes.data(), data + 24, 16);
    const std::size_t cap_end = std::min(captured, total);

    std::uint8_t next = data[6];
    std::size_t off = ipv6_header;
    bool first_fragment = false;
    for (unsigned count = 0;; ++count) {
        std::size_t need;  // bytes needed to read this header's length
        switch (next) {
        case proto::hop_by_hop:
        case proto::routing:
        case proto::dest_options:
        case proto::mobility:
        case proto::hip:
        case proto::shim6:
        case proto::ah: need = 2; break;
        case proto::fragment: need = ipv6_fragment_header; break;
        default: need = 0; break;  // an upper layer, ESP, no-next-header or unknown
        }
        if (need == 0) break;
        if (count == max_ext_headers) return fail(out, parse_error::ext_chain_too_long);
        if (off + need > cap_end) return fail(out, parse_error::truncated_ext_header);

        const std::uint8_t* h = data + off;
        std::size_t len;
        if (next == proto::fragment) len = ipv6_fragment_header;
        else if (next == proto::ah) len = (std::size_t{h[1]} + 2) * 4;  // RFC 4302: 4-byte units
        else len = (std::size_t{h[1]} + 1) * 8;
        if (off + len > cap_end) return fail(out, parse_error::truncated_ext_header);

        if (next == proto::fragment) {
            if (gso) return fail(out, parse_error::bad_total_length);
            const unsigned offset = load_be16(h + 2) >> 3;  // in 8-byte units
            out.is_fragment = true;
            next = h[0];
            off += len;
            if (offset != 0) {
                out.is_first_fragment = false;
                out.protocol = next;
                out.l3_header_len = static_cast<std::uint16_t>(off);
                if (offset == 1 && next == proto::tcp)  // RFC 1858 overlap, as for IPv4
                    return fail(out, parse_error::tiny_fragment);
                set_payload(data, off, cap_end, out);
                return parse_error::none;
            }
            // Offset 0: the first fragment, or an atomic fragment (RFC 6946, M = 0).
            out.is_first_fragment = true;
            first_fragment = true;
            continue;
        }
        next = h[0];
        off += len;
    }
    out.protocol = next;
    out.l3_header_len = static_cast<std::uint16_t>(off);
    if (gso && next != proto::tcp) return fail(out, parse_error::bad_total_length);
    return parse_l4(data, off, cap_end, total, first_fragment, proto::icmpv6, out);
}

}  // namespace

parse_error parse_ip_packet(const std::uint8_t* data, std::size_t captured, std::size_t wire_len,
                            packet_view& out) noexcept {
    // Copied from a constant: building a temporary on the stack and copying it costs
    // store-forwarding stalls on the hot path.
    static constexpr packet_view blank{};
    out = blank;
    if (captured == 0 || data == nullptr) return fail(out, parse_error::empty);
    // A packet is at least as long on the wire as what was captured of it; a caller that
    // passes a smaller wire_len gets the captured length.
    const std::size_t wire = std::max(wire_len, captured);
    const unsigned version = data[0] >> 4;
    if (version == 4) [[likely]] return parse_ipv4(data, captured, wire, out);
    if (version == 6) return parse_ipv6(data, captured, wire, out);
    return fail(out, parse_error::bad_version);
}

}  // namespace pbxgate
