#include <catch2/catch.hpp>

#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/netlink.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "queue/queue_message.hpp"

using namespace pbxgate;

namespace {

using bytes = std::vector<std::uint8_t>;
constexpr std::uint16_t packet_type = (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET;

bytes be32(std::uint32_t v) {
    return {std::uint8_t(v >> 24), std::uint8_t(v >> 16), std::uint8_t(v >> 8), std::uint8_t(v)};
}
bytes packet_hdr(std::uint32_t id, std::uint16_t proto = 0x0800, std::uint8_t hook = 1) {
    bytes b = be32(id);
    b.push_back(std::uint8_t(proto >> 8));
    b.push_back(std::uint8_t(proto));
    b.push_back(hook);
    return b;
}
bytes ip_bytes(std::size_t n) {
    bytes b(n);
    for (std::size_t i = 0; i < n; ++i) b[i] = std::uint8_t(0x45 + i);
    return b;
}

struct attr {
    std::uint16_t type;
    bytes data;
    int nla_len_override = -1;  // a lying length field
};

// A message as the kernel would lay it out: nlmsghdr, nfgenmsg, 4-aligned attributes.
// `pad_last` false leaves the last attribute without its alignment padding.
bytes message(const std::vector<attr>& attrs, std::uint16_t type = packet_type, bool pad_last = true,
              std::uint16_t queue = 3) {
    bytes b(NLMSG_HDRLEN + sizeof(nfgenmsg), 0);
    for (std::size_t i = 0; i < attrs.size(); ++i) {
        const auto& a = attrs[i];
        const auto len = static_cast<std::uint16_t>(a.nla_len_override >= 0 ? a.nla_len_override : 4 + a.data.size());
        const std::size_t at = b.size();
        b.resize(at + 4);
        std::memcpy(&b[at], &len, 2);
        std::memcpy(&b[at + 2], &a.type, 2);
        b.insert(b.end(), a.data.begin(), a.data.end());
        if (pad_last || i + 1 < attrs.size()) b.resize(NLA_ALIGN(b.size()), 0);
    }
    nlmsghdr h{};
    h.nlmsg_len = static_cast<std::uint32_t>(b.size());
    h.nlmsg_type = type;
    std::memcpy(b.data(), &h, sizeof h);
    nfgenmsg g{};
    g.version = NFNETLINK_V0;
    g.res_id = static_cast<std::uint16_t>((queue >> 8) | (queue << 8));
    std::memcpy(&b[NLMSG_HDRLEN], &g, sizeof g);
    return b;
}
bytes with_nlmsg_len(bytes b, std::uint32_t len) {
    std::memcpy(b.data(), &len, 4);
    return b;
}
bytes cut(bytes b, std::size_t n) {
    b.resize(n);
    return b;
}

const bytes payload20 = ip_bytes(20);
const bytes full = message({{NFQA_PACKET_HDR, packet_hdr(42, 0x86dd, 3)}, {NFQA_MARK, be32(7)},
                            {NFQA_IFINDEX_INDEV, be32(1)}, {NFQA_IFINDEX_OUTDEV, be32(5)},
                            {NFQA_PAYLOAD, payload20}});

}  // namespace

TEST_CASE("parse_queue_message: valid, truncated and lying messages", "[queue][parse]") {
    struct row {
        const char* name;
        bytes msg;
        queue_parse_status status;
        bool id_known;
        std::uint32_t id = 0;
        std::uint32_t captured = 0;
        std::uint32_t wire = 0;
        bool loopback = false;
    };
    const row rows[] = {
        {"complete message from lo", full, queue_parse_status::ok, true, 42, 20, 20, true},
        {"cut by copy_range: NFQA_CAP_LEN gives the wire length",
         message({{NFQA_PACKET_HDR, packet_hdr(9)}, {NFQA_PAYLOAD, payload20}, {NFQA_CAP_LEN, be32(1500)}}),
         queue_parse_status::ok, true, 9, 20, 1500},
        {"attributes in another order, unknown ones ignored",
         message({{NFQA_PAYLOAD, payload20}, {200, be32(1)}, {NFQA_PACKET_HDR, packet_hdr(10)}}),
         queue_parse_status::ok, true, 10, 20, 20},
        {"last attribute without padding",
         message({{NFQA_PACKET_HDR, packet_hdr(11)}, {NFQA_PAYLOAD, ip_bytes(5)}}, packet_type, false),
         queue_parse_status::ok, true, 11, 5, 5},
        {"empty payload attribute", message({{NFQA_PACKET_HDR, packet_hdr(12)}, {NFQA_PAYLOAD, {}}}),
         queue_parse_status::ok, true, 12, 0, 0},
        {"other interface is not loopback",
         message({{NFQA_PACKET_HDR, packet_hdr(13)}, {NFQA_IFINDEX_INDEV, be32(2)}, {NFQA_PAYLOAD, payload20}}),
         queue_parse_status::ok, true, 13, 20, 20, false},
        {"NFQA_CAP_LEN below the payload",
         message({{NFQA_PACKET_HDR, packet_hdr(14)}, {NFQA_PAYLOAD, payload20}, {NFQA_CAP_LEN, be32(10)}}),
         queue_parse_status::bad_capture_length, true, 14},
        {"missing payload", message({{NFQA_PACKET_HDR, packet_hdr(15)}, {NFQA_MARK, be32(1)}}),
         queue_parse_status::missing_payload, true, 15},
        {"missing packet header", message({{NFQA_MARK, be32(1)}, {NFQA_PAYLOAD, payload20}}),
         queue_parse_status::missing_packet_header, false},
        {"packet header too short", message({{NFQA_PACKET_HDR, cut(packet_hdr(16), 6)}, {NFQA_PAYLOAD, payload20}}),
         queue_parse_status::bad_packet_header_size, false},
        {"mark too short", message({{NFQA_PACKET_HDR, packet_hdr(17)}, {NFQA_MARK, {1, 2}}, {NFQA_PAYLOAD, payload20}}),
         queue_parse_status::bad_attribute_size, true, 17},
        {"cap len too short", message({{NFQA_PACKET_HDR, packet_hdr(18)}, {NFQA_PAYLOAD, payload20}, {NFQA_CAP_LEN, {0, 1}}}),
         queue_parse_status::bad_attribute_size, true, 18},
        {"attribute length runs past the message, after the header",
         message({{NFQA_PACKET_HDR, packet_hdr(19)}, {NFQA_PAYLOAD, payload20, 400}}),
         queue_parse_status::bad_attribute, true, 19},
        {"attribute length runs past the message, before the header",
         message({{NFQA_PAYLOAD, payload20, 400}, {NFQA_PACKET_HDR, packet_hdr(20)}}),
         queue_parse_status::bad_attribute, false},
        {"attribute length below its own header",
         message({{NFQA_PACKET_HDR, packet_hdr(21)}, {NFQA_MARK, be32(1), 2}}),
         queue_parse_status::bad_attribute, true, 21},
        {"zero attribute length (would loop forever if trusted)",
         message({{NFQA_MARK, be32(1), 0}, {NFQA_PACKET_HDR, packet_hdr(22)}}),
         queue_parse_status::bad_attribute, false},
        {"three stray bytes after the last attribute",
         [] { auto b = message({{NFQA_PACKET_HDR, packet_hdr(23)}, {NFQA_PAYLOAD, payload20}});
              b.resize(b.size() + 3, 0); return with_nlmsg_len(b, std::uint32_t(b.size())); }(),
         queue_parse_status::bad_attribute, true, 23},
        {"buffer shorter than the headers", cut(full, 10), queue_parse_status::truncated_netlink_header, false},
        {"empty buffer", bytes{}, queue_parse_status::truncated_netlink_header, false},
        {"nlmsg_len beyond the bytes received", cut(full, full.size() - 1), queue_parse_status::bad_netlink_length, false},
        {"nlmsg_len below nlmsghdr", with_nlmsg_len(full, 8), queue_parse_status::bad_netlink_length, false},
        {"nlmsg_len without room for nfgenmsg", with_nlmsg_len(full, 16), queue_parse_status::bad_netlink_length, false},
        {"NLMSG_ERROR is not a packet", message({}, NLMSG_ERROR), queue_parse_status::not_queue_packet, false},
        {"verdict message is not a packet",
         message({{NFQA_PACKET_HDR, packet_hdr(24)}}, (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_VERDICT),
         queue_parse_status::not_queue_packet, false},
    };
    for (const auto& r : rows) {
        INFO(r.name);
        // An exact-size heap copy at an odd address: ASan sees any over-read, UBSan any
        // misaligned load.
        auto storage = std::make_unique<std::uint8_t[]>(r.msg.size() + 1);
        std::uint8_t* buf = storage.get() + 1;
        if (!r.msg.empty()) std::memcpy(buf, r.msg.data(), r.msg.size());
        received_packet p;
        const auto res = parse_queue_message(buf, r.msg.size(), p, 1);
        CHECK(to_string(res.status) == to_string(r.status));
        CHECK(res.id_known == r.id_known);
        if (r.id_known) CHECK(p.packet_id == r.id);
        if (res.ok()) {
            CHECK(p.captured_len == r.captured);
            CHECK(p.wire_len == r.wire);
            CHECK(p.meta.from_loopback_interface == r.loopback);
            CHECK(p.queue_num == 3);
            if (r.captured > 0) {
                REQUIRE(p.data != nullptr);
                CHECK(p.data >= buf);
                CHECK(p.data + p.captured_len <= buf + r.msg.size());
                CHECK(p.data[0] == 0x45);
            }
        }
    }
}

TEST_CASE("parse_queue_message: every field of a complete message", "[queue][parse]") {
    received_packet p;
    REQUIRE(parse_queue_message(full.data(), full.size(), p, 1).ok());
    CHECK(p.packet_id == 42);
    CHECK(p.meta.mark == 7);
    CHECK(p.indev == 1);
    CHECK(p.meta.from_loopback_interface);
    CHECK(p.meta.interface_known);
    // Another input interface: known, not loopback (a loopback source there is spoofed).
    REQUIRE(parse_queue_message(full.data(), full.size(), p, 2).ok());
    CHECK_FALSE(p.meta.from_loopback_interface);
    CHECK(p.meta.interface_known);
    // Without a known loopback ifindex nothing counts as loopback, and the address decides.
    REQUIRE(parse_queue_message(full.data(), full.size(), p, 0).ok());
    CHECK_FALSE(p.meta.from_loopback_interface);
    CHECK_FALSE(p.meta.interface_known);
}

TEST_CASE("parse_queue_message: every truncation of a valid message fails cleanly", "[queue][parse]") {
    for (std::size_t len = 0; len < full.size(); ++len) {
        INFO("length " << len);
        auto copy = std::make_unique<std::uint8_t[]>(len + 1);
        if (len > 0) std::memcpy(copy.get(), full.data(), len);
        received_packet p;
        CHECK_FALSE(parse_queue_message(len > 0 ? copy.get() : nullptr, len, p).ok());
    }
}
