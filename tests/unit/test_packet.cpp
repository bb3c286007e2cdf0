#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "packet_builder.hpp"
#include "pbxgate/packet.hpp"

using namespace pbxgate;
using namespace pbxgate::test;

namespace {

// Parses from an exactly-sized heap copy so ASan flags any read past `captured`.
packet_view parse_exact(const bytes& b, std::size_t wire_len, parse_error* rc = nullptr) {
    const bytes exact(b.begin(), b.end());
    packet_view v;
    const parse_error e = parse_ip_packet(exact.empty() ? nullptr : exact.data(), exact.size(),
                                          wire_len, v);
    if (rc) *rc = e;
    // The view points into `exact`, which dies here: forget the pointer, keep the length.
    v.payload = nullptr;
    return v;
}

std::uint16_t be16(const bytes& b, std::size_t at) {
    return static_cast<std::uint16_t>(b[at] << 8 | b[at + 1]);
}

ip_address addr(const char* text) { return *parse_address(text); }

// Fields left out of a row are expected to be 0 / false.
struct good_row {
    const char* name;
    bytes pkt;
    std::size_t wire_len = 0;  // 0: pkt.size()
    std::uint8_t protocol = 0;
    const char* src = nullptr;
    const char* dst = nullptr;
    std::uint16_t sport = 0, dport = 0;
    bool has_ports = false, has_icmp = false;
    std::uint8_t icmp_type = 0, icmp_code = 0, tcp_flags = 0;
    bool is_fragment = false, is_first_fragment = false;
    std::uint16_t l3_header_len = 0;
    std::uint32_t ip_length = 0;
    std::uint32_t payload_len = 0;
};

std::vector<good_row> well_formed_rows() {
    using B = packet_builder;
    const char* a4 = "192.0.2.1";
    const char* b4 = "198.51.100.7";
    const char* a6 = "2001:db8::1";
    const char* b6 = "2001:db8:ffff::5060";
    std::vector<good_row> rows = {
        {.name = "v4 udp",
         .pkt = B::ipv4(a4, b4).udp(5060, 5080).payload(100).build(),
         .protocol = 17, .src = a4, .dst = b4, .sport = 5060, .dport = 5080, .has_ports = true,
         .l3_header_len = 20, .ip_length = 128, .payload_len = 100},
        {.name = "v4 tcp with options",
         .pkt = B::ipv4(a4, b4).tcp(40000, 5061, tcpflag::syn | tcpflag::ack, 12).payload(50).build(),
         .protocol = 6, .src = a4, .dst = b4, .sport = 40000, .dport = 5061, .has_ports = true,
         .tcp_flags = 0x12, .l3_header_len = 20, .ip_length = 102, .payload_len = 50},
        {.name = "v4 icmp echo",
         .pkt = B::ipv4(a4, b4).icmp(8, 0).payload(32).build(),
         .protocol = 1, .src = a4, .dst = b4, .has_icmp = true, .icmp_type = 8,
         .l3_header_len = 20, .ip_length = 60, .payload_len = 32},
        {.name = "v4 icmp unreachable",
         .pkt = B::ipv4(b4, a4).icmp(3, 3).payload(28).build(),
         .protocol = 1, .src = b4, .dst = a4, .has_icmp = true, .icmp_type = 3, .icmp_code = 3,
         .l3_header_len = 20, .ip_length = 56, .payload_len = 28},
        {.name = "v4 udp, 8 option bytes",
         .pkt = B::ipv4(a4, b4).ip_options(8).udp(1, 2).payload(4).build(),
         .protocol = 17, .src = a4, .dst = b4, .sport = 1, .dport = 2, .has_ports = true,
         .l3_header_len = 28, .ip_length = 40, .payload_len = 4},
        {.name = "v4 udp, 40 option bytes (IHL 15)",
         .pkt = B::ipv4(a4, b4).ip_options(40).udp(1, 2).build(),
         .protocol = 17, .src = a4, .dst = b4, .sport = 1, .dport = 2, .has_ports = true,
         .l3_header_len = 60, .ip_length = 68, .payload_len = 0},
        {.name = "v4 DF is not a fragment",
         .pkt = B::ipv4(a4, b4).dont_fragment().udp(9, 10).payload(3).build(),
         .protocol = 17, .src = a4, .dst = b4, .sport = 9, .dport = 10, .has_ports = true,
         .l3_header_len = 20, .ip_length = 31, .payload_len = 3},
        {.name = "v4 udp length shorter than IP payload",
         .pkt = B::ipv4(a4, b4).udp(7, 8).payload(20).udp_length_field(18).build(),
         .protocol = 17, .src = a4, .dst = b4, .sport = 7, .dport = 8, .has_ports = true,
         .l3_header_len = 20, .ip_length = 48, .payload_len = 10},
        {.name = "v4 sctp",
         .pkt = B::ipv4(a4, b4).protocol(ipproto::sctp).payload(60).build(),
         .protocol = 132, .src = a4, .dst = b4, .l3_header_len = 20, .ip_length = 80,
         .payload_len = 60},
        {.name = "v4 gre",
         .pkt = B::ipv4(a4, b4).protocol(ipproto::gre).payload(24).build(),
         .protocol = 47, .src = a4, .dst = b4, .l3_header_len = 20, .ip_length = 44,
         .payload_len = 24},
        {.name = "v4 ipip",
         .pkt = B::ipv4(a4, b4).protocol(ipproto::ipip).payload(40).build(),
         .protocol = 4, .src = a4, .dst = b4, .l3_header_len = 20, .ip_length = 60,
         .payload_len = 40},
        {.name = "v4 first fragment, udp length covers the datagram",
         .pkt = B::ipv4(a4, b4).fragment(0, true).udp(5060, 5060).payload(1472).udp_length_field(3000).build(),
         .protocol = 17, .src = a4, .dst = b4, .sport = 5060, .dport = 5060, .has_ports = true,
         .is_fragment = true, .is_first_fragment = true, .l3_header_len = 20, .ip_length = 1500,
         .payload_len = 1472},
        {.name = "v4 last fragment",
         .pkt = B::ipv4(a4, b4).fragment(185, false).protocol(ipproto::udp).payload(48).build(),
         .protocol = 17, .src = a4, .dst = b4, .is_fragment = true, .l3_header_len = 20,
         .ip_length = 68, .payload_len = 48},
        {.name = "v4 middle tcp fragment at offset 2",
         .pkt = B::ipv4(a4, b4).fragment(2, true).protocol(ipproto::tcp).payload(16).build(),
         .protocol = 6, .src = a4, .dst = b4, .is_fragment = true, .l3_header_len = 20,
         .ip_length = 36, .payload_len = 16},
        {.name = "v4 tcp ack + Ethernet padding",
         .pkt = padded(B::ipv4(a4, b4).tcp(5060, 40000, tcpflag::ack).build(), 6),
         .protocol = 6, .src = a4, .dst = b4, .sport = 5060, .dport = 40000, .has_ports = true,
         .tcp_flags = 0x10, .l3_header_len = 20, .ip_length = 40, .payload_len = 0},
        {.name = "v4 udp cut by copy range after 10 payload bytes",
         .pkt = truncated(B::ipv4(a4, b4).udp(10000, 20000).payload(1000).build(), 38),
         .wire_len = 1028, .protocol = 17, .src = a4, .dst = b4, .sport = 10000, .dport = 20000,
         .has_ports = true, .l3_header_len = 20, .ip_length = 1028, .payload_len = 10},
        {.name = "v4 tcp cut right after the header",
         .pkt = truncated(B::ipv4(a4, b4).tcp(1, 2, tcpflag::psh).payload(500).build(), 40),
         .wire_len = 540, .protocol = 6, .src = a4, .dst = b4, .sport = 1, .dport = 2,
         .has_ports = true, .tcp_flags = 0x08, .l3_header_len = 20, .ip_length = 540,
         .payload_len = 0},
        {.name = "v4 icmp cut after 4 bytes",
         .pkt = truncated(B::ipv4(a4, b4).icmp(0, 0).payload(56).build(), 24),
         .wire_len = 84, .protocol = 1, .src = a4, .dst = b4, .has_icmp = true,
         .l3_header_len = 20, .ip_length = 84, .payload_len = 0},
        {.name = "v4 tcp options cut by the copy range",
         .pkt = truncated(B::ipv4(a4, b4).tcp(3, 4, tcpflag::syn, 20).build(), 40),
         .wire_len = 60, .protocol = 6, .src = a4, .dst = b4, .sport = 3, .dport = 4,
         .has_ports = true, .tcp_flags = 0x02, .l3_header_len = 20, .ip_length = 60,
         .payload_len = 0},
        // GRO/GSO TCP super-packets (the queue is bound with NFQA_CFG_F_GSO): a zero IP
        // length means "as long as the buffer", as in the kernel's skb_ip_totlen.
        {.name = "v4 GSO tcp, total length 0",
         .pkt = B::ipv4(a4, b4).tcp(5061, 50000, tcpflag::ack).payload(100).ip_length_field(0).build(),
         .protocol = 6, .src = a4, .dst = b4, .sport = 5061, .dport = 50000, .has_ports = true,
         .tcp_flags = 0x10, .l3_header_len = 20, .ip_length = 140, .payload_len = 100},
        {.name = "v4 GSO tcp over 64 KiB, cut by the copy range",
         .pkt = truncated(B::ipv4(a4, b4).tcp(5061, 50000, tcpflag::ack).payload(1000).ip_length_field(0).build(), 60),
         .wire_len = 70000, .protocol = 6, .src = a4, .dst = b4, .sport = 5061, .dport = 50000, .has_ports = true,
         .tcp_flags = 0x10, .l3_header_len = 20, .ip_length = 70000, .payload_len = 20},
        {.name = "v6 BIG TCP, payload length 0",
         .pkt = B::ipv6(a6, b6).tcp(5061, 50000, tcpflag::ack).payload(100).ip_length_field(0).build(),
         .wire_len = 0, .protocol = 6, .src = a6, .dst = b6, .sport = 5061, .dport = 50000, .has_ports = true,
         .tcp_flags = 0x10, .l3_header_len = 40, .ip_length = 160, .payload_len = 100},
        {.name = "v6 BIG TCP with a hop-by-hop header, over 64 KiB",
         .pkt = truncated(B::ipv6(a6, b6).ext_header(ext::hop_by_hop, 8).tcp(5061, 50000, tcpflag::ack).payload(500)
                              .ip_length_field(0).build(), 100),
         .wire_len = 90000, .protocol = 6, .src = a6, .dst = b6, .sport = 5061, .dport = 50000, .has_ports = true,
         .tcp_flags = 0x10, .l3_header_len = 48, .ip_length = 90000, .payload_len = 32},
        {.name = "v6 udp",
         .pkt = B::ipv6(a6, b6).udp(5060, 5060).payload(20).build(),
         .protocol = 17, .src = a6, .dst = b6, .sport = 5060, .dport = 5060, .has_ports = true,
         .l3_header_len = 40, .ip_length = 68, .payload_len = 20},
        {.name = "v6 tcp",
         .pkt = B::ipv6(b6, a6).tcp(5061, 50000, tcpflag::fin | tcpflag::ack).payload(7).build(),
         .protocol = 6, .src = b6, .dst = a6, .sport = 5061, .dport = 50000, .has_ports = true,
         .tcp_flags = 0x11, .l3_header_len = 40, .ip_length = 67, .payload_len = 7},
        {.name = "v6 icmpv6 echo",
         .pkt = B::ipv6(a6, b6).icmp(128, 0).payload(16).build(),
         .protocol = 58, .src = a6, .dst = b6, .has_icmp = true, .icmp_type = 128,
         .l3_header_len = 40, .ip_length = 64, .payload_len = 16},
        {.name = "v6 hop-by-hop + routing + dest options",
         .pkt = B::ipv6(a6, b6).ext_header(ext::hop_by_hop, 8).ext_header(ext::routing, 24)
                    .ext_header(ext::dest_options, 16).udp(1, 2).payload(5).build(),
         .protocol = 17, .src = a6, .dst = b6, .sport = 1, .dport = 2, .has_ports = true,
         .l3_header_len = 88, .ip_length = 101, .payload_len = 5},
        {.name = "v6 AH + tcp",
         .pkt = B::ipv6(a6, b6).ext_header(ext::ah, 24).tcp(1, 2).build(),
         .protocol = 6, .src = a6, .dst = b6, .sport = 1, .dport = 2, .has_ports = true,
         .tcp_flags = 0x02, .l3_header_len = 64, .ip_length = 84, .payload_len = 0},
        {.name = "v6 mobility + HIP + shim6",
         .pkt = B::ipv6(a6, b6).ext_header(ext::mobility, 8).ext_header(ext::hip, 16)
                    .ext_header(ext::shim6, 8).icmp(135, 0).build(),
         .protocol = 58, .src = a6, .dst = b6, .has_icmp = true, .icmp_type = 135,
         .l3_header_len = 72, .ip_length = 80, .payload_len = 0},
        {.name = "v6 eight extension headers (the limit)",
         .pkt = B::ipv6(a6, b6).ext_header(ext::hop_by_hop).ext_header(ext::dest_options).ext_header(ext::routing)
                    .ext_header(ext::dest_options).ext_header(ext::routing).ext_header(ext::dest_options)
                    .ext_header(ext::routing).ext_header(ext::dest_options).udp(3, 4).build(),
         .protocol = 17, .src = a6, .dst = b6, .sport = 3, .dport = 4, .has_ports = true,
         .l3_header_len = 104, .ip_length = 112, .payload_len = 0},
        {.name = "v6 esp is opaque",
         .pkt = B::ipv6(a6, b6).protocol(ext::esp).payload(64).build(),
         .protocol = 50, .src = a6, .dst = b6, .l3_header_len = 40, .ip_length = 104,
         .payload_len = 64},
        {.name = "v6 no next header",
         .pkt = B::ipv6(a6, b6).ext_header(ext::dest_options).protocol(ext::no_next).build(),
         .protocol = 59, .src = a6, .dst = b6, .l3_header_len = 48, .ip_length = 48,
         .payload_len = 0},
        {.name = "v6 first fragment",
         .pkt = B::ipv6(a6, b6).fragment(0, true).udp(6363, 6363).payload(1000).udp_length_field(3000).build(),
         .protocol = 17, .src = a6, .dst = b6, .sport = 6363, .dport = 6363, .has_ports = true,
         .is_fragment = true, .is_first_fragment = true, .l3_header_len = 48, .ip_length = 1056,
         .payload_len = 1000},
        {.name = "v6 non-first fragment",
         .pkt = B::ipv6(a6, b6).ext_header(ext::dest_options).fragment(129, false).protocol(ipproto::udp).payload(100).build(),
         .protocol = 17, .src = a6, .dst = b6, .is_fragment = true, .l3_header_len = 56,
         .ip_length = 156, .payload_len = 100},
        {.name = "v6 atomic fragment",
         .pkt = B::ipv6(a6, b6).fragment(0, false).tcp(80, 8080, tcpflag::rst).build(),
         .protocol = 6, .src = a6, .dst = b6, .sport = 80, .dport = 8080, .has_ports = true,
         .tcp_flags = 0x04, .is_fragment = true, .is_first_fragment = true, .l3_header_len = 48,
         .ip_length = 68, .payload_len = 0},
        {.name = "v6 udp + Ethernet padding",
         .pkt = padded(B::ipv6(a6, b6).udp(1, 2).build(), 10),
         .protocol = 17, .src = a6, .dst = b6, .sport = 1, .dport = 2, .has_ports = true,
         .l3_header_len = 40, .ip_length = 48, .payload_len = 0},
        {.name = "v6 udp cut by copy range",
         .pkt = truncated(B::ipv6(a6, b6).ext_header(ext::hop_by_hop).udp(5, 6).payload(200).build(), 60),
         .wire_len = 256, .protocol = 17, .src = a6, .dst = b6, .sport = 5, .dport = 6,
         .has_ports = true, .l3_header_len = 48, .ip_length = 256, .payload_len = 4},
    };
    return rows;
}

}  // namespace

TEST_CASE("well-formed packets parse into the expected view", "[packet]") {
    for (const auto& r : well_formed_rows()) {
        INFO(r.name);
        const bytes& b = r.pkt;
        const std::size_t wire = r.wire_len ? r.wire_len : b.size();
        packet_view v;
        const parse_error rc = parse_ip_packet(b.data(), b.size(), wire, v);
        INFO("error " << to_string(v.error));
        REQUIRE(rc == parse_error::none);
        REQUIRE(v.ok());
        const bool is_v6 = std::string(r.src).find(':') != std::string::npos;
        CHECK(v.family == (is_v6 ? ip_family::v6 : ip_family::v4));
        CHECK(v.protocol == r.protocol);
        CHECK(v.src == addr(r.src));
        CHECK(v.dst == addr(r.dst));
        CHECK(v.sport == r.sport);
        CHECK(v.dport == r.dport);
        CHECK(v.has_ports == r.has_ports);
        CHECK(v.has_icmp == r.has_icmp);
        CHECK(v.icmp_type == r.icmp_type);
        CHECK(v.icmp_code == r.icmp_code);
        CHECK(v.tcp_flags == r.tcp_flags);
        CHECK(v.is_fragment == r.is_fragment);
        CHECK(v.is_first_fragment == r.is_first_fragment);
        CHECK(v.l3_header_len == r.l3_header_len);
        CHECK(v.ip_length == r.ip_length);
        CHECK(v.payload_len == r.payload_len);
        // The payload is the tail of the captured L4 bytes (or of the L3 payload).
        REQUIRE(v.payload != nullptr);
        CHECK(v.payload >= b.data() + v.l3_header_len);
        CHECK(v.payload + v.payload_len <= b.data() + std::min<std::size_t>(b.size(), r.ip_length));
    }
}

TEST_CASE("the payload pointer holds the payload bytes", "[packet]") {
    const bytes b = packet_builder::ipv4("192.0.2.1", "192.0.2.2").udp(5060, 5060).payload("INVITE sip:100@pbx SIP/2.0").build();
    packet_view v;
    REQUIRE(parse_ip_packet(b.data(), b.size(), b.size(), v) == parse_error::none);
    CHECK(std::string(reinterpret_cast<const char*>(v.payload), v.payload_len) == "INVITE sip:100@pbx SIP/2.0");
}

TEST_CASE("a packet with wire_len below captured uses the captured length", "[packet]") {
    const bytes b = packet_builder::ipv4("192.0.2.1", "192.0.2.2").udp(1, 2).payload(10).build();
    packet_view v;
    CHECK(parse_ip_packet(b.data(), b.size(), 0, v) == parse_error::none);
    CHECK(v.ip_length == b.size());
}

namespace {

struct bad_row {
    const char* name;
    bytes pkt;
    std::size_t wire_len;  // 0: pkt.size()
    parse_error expected;
};

bytes with_byte(bytes b, std::size_t at, std::uint8_t v) {
    b.at(at) = v;
    return b;
}

std::vector<bad_row> malformed_rows() {
    using B = packet_builder;
    const char* a4 = "203.0.113.9";
    const char* b4 = "192.0.2.10";
    const char* a6 = "2001:db8::9";
    const char* b6 = "2001:db8::a";
    const auto v4udp = [&] { return B::ipv4(a4, b4).udp(5060, 5060).payload(20); };
    const auto v6udp = [&] { return B::ipv6(a6, b6).udp(5060, 5060).payload(20); };
    std::vector<bad_row> rows = {
        {"no bytes", {}, 0, parse_error::empty},
        {"version 5", v4udp().version_field(5).build(), 0, parse_error::bad_version},
        {"version 0", bytes(40, 0), 0, parse_error::bad_version},
        {"v4 header cut at 19 bytes", truncated(v4udp().build(), 19), 48, parse_error::truncated_ip_header},
        {"a lone version byte", {0x45}, 0, parse_error::truncated_ip_header},
        {"v6 header cut at 39 bytes", truncated(v6udp().build(), 39), 68, parse_error::truncated_ip_header},
        {"v4 IHL 4", v4udp().ihl_field(4).build(), 0, parse_error::bad_ihl},
        {"v4 IHL 0", v4udp().ihl_field(0).build(), 0, parse_error::bad_ihl},
        {"v4 options past the captured bytes", truncated(B::ipv4(a4, b4).ip_options(20).udp(1, 2).build(), 30), 48,
         parse_error::bad_ihl},
        {"v4 IHL 15 in a 30-byte packet", B::ipv4(a4, b4).ihl_field(15).protocol(99).payload(10).build(), 0,
         parse_error::bad_ihl},
        {"v4 total length below the header", v4udp().ip_length_field(19).build(), 0, parse_error::bad_total_length},
        {"v4 total length below IHL with options", B::ipv4(a4, b4).ip_options(8).udp(1, 2).ip_length_field(24).build(),
         0, parse_error::bad_total_length},
        {"v4 total length larger than the wire", v4udp().ip_length_field(49).build(), 0, parse_error::bad_total_length},
        {"v4 total length 65535 on a short packet", v4udp().ip_length_field(65535).build(), 0,
         parse_error::bad_total_length},
        {"v6 payload length larger than the wire", v6udp().ip_length_field(29).build(), 0,
         parse_error::bad_total_length},
        // A zero IP length is GSO TCP only: the kernel drops any other such packet first.
        {"v6 payload length 0 on udp", v6udp().ip_length_field(0).build(), 0, parse_error::bad_total_length},
        {"v4 total length 0 on udp", v4udp().ip_length_field(0).build(), 0, parse_error::bad_total_length},
        {"v4 total length 0 on a tcp fragment",
         B::ipv4(a4, b4).fragment(0, true).tcp(1, 2).payload(20).ip_length_field(0).build(), 0,
         parse_error::bad_total_length},
        {"v6 payload length 0 with a fragment header",
         B::ipv6(a6, b6).fragment(0, true).tcp(1, 2).payload(20).ip_length_field(0).build(), 0,
         parse_error::bad_total_length},
        {"v6 payload length 0, header only", B::ipv6(a6, b6).protocol(6).ip_length_field(0).build(), 0,
         parse_error::bad_total_length},
        {"v6 ext header longer than the IP payload",
         with_byte(B::ipv6(a6, b6).ext_header(ext::hop_by_hop).udp(1, 2).build(), 41, 3), 0,
         parse_error::truncated_ext_header},
        {"v6 ext header cut by the copy range",
         truncated(B::ipv6(a6, b6).ext_header(ext::routing, 64).udp(1, 2).build(), 60), 112,
         parse_error::truncated_ext_header},
        {"v6 ext header length byte not captured",
         truncated(B::ipv6(a6, b6).ext_header(ext::dest_options).udp(1, 2).build(), 41), 56,
         parse_error::truncated_ext_header},
        {"v6 fragment header cut", truncated(B::ipv6(a6, b6).fragment(0, true).udp(1, 2).build(), 44), 56,
         parse_error::truncated_ext_header},
        {"v6 AH past the payload", with_byte(B::ipv6(a6, b6).ext_header(ext::ah, 12).tcp(1, 2).build(), 41, 200), 0,
         parse_error::truncated_ext_header},
        {"v6 nine extension headers",
         B::ipv6(a6, b6).ext_header(ext::hop_by_hop).ext_header(ext::dest_options).ext_header(ext::routing)
             .ext_header(ext::dest_options).ext_header(ext::routing).ext_header(ext::dest_options)
             .ext_header(ext::routing).ext_header(ext::dest_options).ext_header(ext::dest_options).udp(3, 4).build(),
         0, parse_error::ext_chain_too_long},
        {"v4 tcp cut inside its header", truncated(B::ipv4(a4, b4).tcp(1, 2).payload(100).build(), 39), 140,
         parse_error::truncated_l4_header},
        {"v4 udp cut inside its header", truncated(v4udp().build(), 27), 48, parse_error::truncated_l4_header},
        {"v4 udp with a 4-byte IP payload", v4udp().ip_length_field(24).build(), 0, parse_error::truncated_l4_header},
        {"v4 icmp with 3 bytes", truncated(B::ipv4(a4, b4).icmp(8, 0).build(), 23), 28, parse_error::truncated_l4_header},
        {"v6 icmpv6 with 2 bytes", truncated(B::ipv6(a6, b6).icmp(128, 0).build(), 42), 48,
         parse_error::truncated_l4_header},
        {"v6 tcp cut after an ext header", truncated(B::ipv6(a6, b6).ext_header(ext::hop_by_hop).tcp(1, 2).build(), 60),
         68, parse_error::truncated_l4_header},
        {"tcp data offset 4", B::ipv4(a4, b4).tcp(1, 2).tcp_offset_field(4).build(), 0, parse_error::bad_tcp_offset},
        {"tcp data offset 0", B::ipv6(a6, b6).tcp(1, 2).tcp_offset_field(0).build(), 0, parse_error::bad_tcp_offset},
        {"tcp data offset past the IP payload", B::ipv4(a4, b4).tcp(1, 2).payload(8).tcp_offset_field(8).build(), 0,
         parse_error::bad_tcp_offset},
        {"udp length 7", v4udp().udp_length_field(7).build(), 0, parse_error::bad_udp_length},
        {"udp length 0", v6udp().udp_length_field(0).build(), 0, parse_error::bad_udp_length},
        {"udp length past the IP payload", v4udp().udp_length_field(29).build(), 0, parse_error::bad_udp_length},
        {"v4 first tcp fragment with 8 TCP bytes",
         B::ipv4(a4, b4).fragment(0, true).tcp(1, 2).ip_length_field(28).build(), 0, parse_error::tiny_fragment},
        {"v4 first udp fragment with 4 UDP bytes",
         B::ipv4(a4, b4).fragment(0, true).udp(1, 2).ip_length_field(24).build(), 0, parse_error::tiny_fragment},
        {"v4 first icmp fragment with 2 bytes", B::ipv4(a4, b4).fragment(0, true).icmp(8, 0).ip_length_field(22).build(),
         0, parse_error::tiny_fragment},
        {"v4 tcp fragment at offset 1 (RFC 1858)",
         B::ipv4(a4, b4).fragment(1, false).protocol(ipproto::tcp).payload(12).build(), 0, parse_error::tiny_fragment},
        {"v6 tcp fragment at offset 1", B::ipv6(a6, b6).fragment(1, false).protocol(ipproto::tcp).payload(12).build(), 0,
         parse_error::tiny_fragment},
        {"v6 first tcp fragment with 8 TCP bytes",
         B::ipv6(a6, b6).fragment(0, true).protocol(ipproto::tcp).payload(8).build(), 0, parse_error::tiny_fragment},
    };
    return rows;
}

}  // namespace

TEST_CASE("malformed packets give the expected error", "[packet]") {
    std::set<parse_error> covered;
    for (const auto& r : malformed_rows()) {
        INFO(r.name);
        parse_error rc{};
        const packet_view v = parse_exact(r.pkt, r.wire_len ? r.wire_len : r.pkt.size(), &rc);
        CHECK(to_string(rc) == to_string(r.expected));
        CHECK(v.error == rc);
        CHECK_FALSE(v.ok());
        CHECK_FALSE(v.has_ports);
        CHECK_FALSE(v.has_icmp);
        covered.insert(r.expected);
    }
    // One row at least for every error the parser can report.
    for (unsigned e = 1; e < parse_error_count; ++e) {
        INFO(to_string(static_cast<parse_error>(e)));
        CHECK(covered.count(static_cast<parse_error>(e)) == 1);
    }
}

TEST_CASE("parse_error names match the enumerators", "[packet]") {
    struct row { parse_error e; const char* name; };
    const row rows[] = {
        {parse_error::none, "none"},
        {parse_error::empty, "empty"},
        {parse_error::bad_version, "bad_version"},
        {parse_error::truncated_ip_header, "truncated_ip_header"},
        {parse_error::bad_ihl, "bad_ihl"},
        {parse_error::bad_total_length, "bad_total_length"},
        {parse_error::truncated_ext_header, "truncated_ext_header"},
        {parse_error::ext_chain_too_long, "ext_chain_too_long"},
        {parse_error::truncated_l4_header, "truncated_l4_header"},
        {parse_error::bad_tcp_offset, "bad_tcp_offset"},
        {parse_error::bad_udp_length, "bad_udp_length"},
        {parse_error::tiny_fragment, "tiny_fragment"},
    };
    STATIC_REQUIRE(sizeof rows / sizeof rows[0] == parse_error_count);
    for (const auto& r : rows) {
        INFO(r.name);
        CHECK(to_string(r.e) == r.name);
    }
    CHECK(to_string(static_cast<parse_error>(parse_error_count)) == "unknown");
}

namespace {

// What must hold for any input, whatever the parser decided.
void check_invariants(const bytes& buf, std::size_t wire_len, const packet_view& v, parse_error rc) {
    const std::uint8_t* begin = buf.data();
    const std::uint8_t* end = buf.data() + buf.size();
    REQUIRE(rc == v.error);
    if (v.payload != nullptr) {
        REQUIRE(v.payload >= begin);
        REQUIRE(v.payload <= end);
        REQUIRE(v.payload_len <= static_cast<std::size_t>(end - v.payload));
    } else {
        REQUIRE(v.payload_len == 0);
    }
    if (!v.ok()) {
        REQUIRE_FALSE(v.has_ports);
        REQUIRE_FALSE(v.has_icmp);
        return;
    }
    const std::size_t wire = std::max(wire_len, buf.size());
    REQUIRE(!buf.empty());
    const unsigned version = buf[0] >> 4;
    REQUIRE(static_cast<unsigned>(v.family) == version);
    REQUIRE(v.src.family == v.family);
    REQUIRE(v.dst.family == v.family);
    REQUIRE(v.ip_length <= wire);
    REQUIRE(v.l3_header_len <= v.ip_length);
    REQUIRE(v.l3_header_len <= buf.size());
    if (v.family == ip_family::v4) {
        REQUIRE(v.l3_header_len == (buf[0] & 0x0f) * 4);
        // 0: a GSO TCP super-packet, as long as the buffer.
        REQUIRE(v.ip_length == (be16(buf, 2) != 0 ? be16(buf, 2) : wire));
        if (be16(buf, 2) == 0) REQUIRE(v.protocol == 6);
        REQUIRE(v.protocol == buf[9]);
        REQUIRE(std::memcmp(v.src.bytes.data(), begin + 12, 4) == 0);
    } else {
        REQUIRE(v.ip_length == (be16(buf, 4) != 0 ? 40u + be16(buf, 4) : wire));
        if (be16(buf, 4) == 0) REQUIRE((v.protocol == 6 && !v.is_fragment));
        REQUIRE(v.l3_header_len >= 40);
        REQUIRE(std::memcmp(v.dst.bytes.data(), begin + 24, 16) == 0);
    }
    REQUIRE(v.payload != nullptr);
    REQUIRE(v.payload >= begin + v.l3_header_len);
    REQUIRE(v.payload + v.payload_len <= begin + std::min<std::size_t>(buf.size(), v.ip_length));
    if (v.is_first_fragment) REQUIRE(v.is_fragment);
    if (v.has_ports) {
        REQUIRE((v.protocol == 6 || v.protocol == 17));
        REQUIRE((!v.is_fragment || v.is_first_fragment));
        const std::uint8_t* l4 = begin + v.l3_header_len;
        REQUIRE(v.sport == (l4[0] << 8 | l4[1]));
        REQUIRE(v.dport == (l4[2] << 8 | l4[3]));
    } else {
        REQUIRE(v.sport == 0);
        REQUIRE(v.dport == 0);
        REQUIRE(v.tcp_flags == 0);
    }
    if (v.has_icmp) {
        REQUIRE(v.protocol == (v.family == ip_family::v4 ? 1 : 58));
        REQUIRE(v.icmp_type == begin[v.l3_header_len]);
    }
    REQUIRE_FALSE((v.has_ports && v.has_icmp));
}

void parse_and_check(const bytes& pkt, std::size_t n, std::size_t wire_len, unsigned& ok_count,
                     unsigned& err_count) {
    const bytes exact(pkt.begin(), pkt.begin() + static_cast<std::ptrdiff_t>(n));  // ASan-exact size
    packet_view v;
    const parse_error rc = parse_ip_packet(exact.empty() ? nullptr : exact.data(), exact.size(), wire_len, v);
    check_invariants(exact, wire_len, v, rc);
    (rc == parse_error::none ? ok_count : err_count)++;
}

}  // namespace

TEST_CASE("random mutations of well-formed packets never break the invariants", "[packet][robustness]") {
    std::mt19937 rng(20261124);  // fixed seed: a failure reproduces
    unsigned ok_count = 0, err_count = 0;
    std::set<parse_error> seen;
    for (const auto& r : well_formed_rows()) {
        INFO(r.name);
        const bytes& base = r.pkt;
        const std::size_t wire = r.wire_len ? r.wire_len : base.size();
        // Every truncation, with the true wire length and with the cut length as the wire.
        for (std::size_t n = 0; n <= base.size(); ++n) {
            parse_and_check(base, n, wire, ok_count, err_count);
            parse_and_check(base, n, n, ok_count, err_count);
        }
        for (int i = 0; i < 3000; ++i) {
            bytes m = base;
            std::size_t mwire = wire;
            switch (rng() % 4) {
            case 0: {  // bit flips, concentrated in the headers where they matter
                const unsigned flips = 1 + rng() % 4;
                for (unsigned f = 0; f < flips; ++f) {
                    const std::size_t at = rng() % std::min<std::size_t>(m.size(), 96);
                    m[at] = static_cast<std::uint8_t>(m[at] ^ (1u << (rng() % 8)));
                }
                break;
            }
            case 1: {  // a length field lies: IP length, IPv6 payload length, IHL, or any 16-bit word
                const std::size_t at = (rng() % 3 == 0) ? (m[0] >> 4 == 6 ? 4 : 2) : rng() % (m.size() - 1);
                put16(m, at, static_cast<std::uint16_t>(rng()));
                break;
            }
            case 2:  // random byte values in the first 64 bytes
                m[rng() % std::min<std::size_t>(m.size(), 64)] = static_cast<std::uint8_t>(rng());
                break;
            default:  // the wire length lies
                mwire = rng() % (m.size() * 2 + 1);
                break;
            }
            const std::size_t n = (rng() % 3 == 0) ? rng() % (m.size() + 1) : m.size();
            packet_view v;
            const bytes exact(m.begin(), m.begin() + static_cast<std::ptrdiff_t>(n));
            const parse_error rc =
                parse_ip_packet(exact.empty() ? nullptr : exact.data(), exact.size(), mwire, v);
            check_invariants(exact, mwire, v, rc);
            (rc == parse_error::none ? ok_count : err_count)++;
            seen.insert(rc);
        }
    }
    INFO("ok " << ok_count << ", errors " << err_count << ", kinds seen " << seen.size());
    // The mutations must reach both outcomes and most error kinds, or they test nothing.
    CHECK(ok_count > 1000);
    CHECK(err_count > 1000);
    CHECK(seen.size() >= 8);
}
