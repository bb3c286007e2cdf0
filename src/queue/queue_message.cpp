#include "queue/queue_message.hpp"

#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/netlink.h>

#include <array>
#include <cstring>

#include "util/byte_order.hpp"

namespace pbxgate {

namespace {

constexpr std::size_t nlmsg_header_len = NLMSG_ALIGN(sizeof(nlmsghdr));
constexpr std::size_t nfgen_len = NLMSG_ALIGN(sizeof(nfgenmsg));
constexpr std::size_t attr_header_len = NLA_ALIGN(sizeof(nlattr));
// nfqnl_msg_packet_hdr is packed: id(4) + hw_protocol(2) + hook(1).
constexpr std::size_t packet_hdr_len = 7;

struct attr_ref {
    const std::uint8_t* data = nullptr;
    std::size_t len = 0;
    bool present = false;
};

}  // namespace

std::string_view to_string(queue_parse_status s) noexcept {
    constexpr std::array<std::string_view, 10> names{
        "ok", "not_queue_packet", "truncated_netlink_header", "bad_netlink_length", "bad_attribute",
        "missing_packet_header", "bad_packet_header_size", "bad_attribute_size", "missing_payload",
        "bad_capture_length"};
    const auto i = static_cast<std::size_t>(s);
    return i < names.size() ? names[i] : "?";
}

queue_parse_result parse_queue_message(const void* buf, std::size_t len, received_packet& out,
                                       std::uint32_t loopback_ifindex) noexcept {
    out = received_packet{};
    const auto* bytes = static_cast<const std::uint8_t*>(buf);
    if (bytes == nullptr || len < nlmsg_header_len + nfgen_len)
        return {queue_parse_status::truncated_netlink_header, false};

    nlmsghdr nlh;
    std::memcpy(&nlh, bytes, sizeof nlh);
    if (nlh.nlmsg_len < nlmsg_header_len || nlh.nlmsg_len > len)
        return {queue_parse_status::bad_netlink_length, false};
    constexpr auto packet_type = static_cast<std::uint16_t>((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET);
    if (nlh.nlmsg_type != packet_type) return {queue_parse_status::not_queue_packet, false};
    if (nlh.nlmsg_len < nlmsg_header_len + nfgen_len)
        return {queue_parse_status::bad_netlink_length, false};

    nfgenmsg nfg;
    std::memcpy(&nfg, bytes + nlmsg_header_len, sizeof nfg);
    out.queue_num = load_be16(reinterpret_cast<const std::uint8_t*>(&nfg.res_id));

    // Walk the attributes; keep the last of each type we use (the kernel sends each once).
    std::array<attr_ref, NFQA_MAX + 1> attrs{};
    std::size_t off = nlmsg_header_len + nfgen_len;
    const std::size_t end = nlh.nlmsg_len;
    bool walk_failed = false;
    while (off < end) {
        if (end - off < attr_header_len) { walk_failed = true; break; }
        nlattr a;
        std::memcpy(&a, bytes + off, sizeof a);
        if (a.nla_len < attr_header_len || a.nla_len > end - off) { walk_failed = true; break; }
        const auto type = static_cast<std::size_t>(a.nla_type & NLA_TYPE_MASK);
        if (type < attrs.size())
            attrs[type] = attr_ref{bytes + off + attr_header_len, a.nla_len - attr_header_len, true};
        const std::size_t step = NLA_ALIGN(std::size_t{a.nla_len});
        if (step >= end - off) break;  // last attribute (padding may be absent at the end)
        off += step;
    }

    const attr_ref& hdr = attrs[NFQA_PACKET_HDR];
    if (!hdr.present) {
        return {walk_failed ? queue_parse_status::bad_attribute : queue_parse_status::missing_packet_header,
                false};
    }
    if (hdr.len < packet_hdr_len) return {queue_parse_status::bad_packet_header_size, false};
    out.packet_id = load_be32(hdr.data);
    out.hook = hdr.data[6];
    if (walk_failed) return {queue_parse_status::bad_attribute, true};

    std::uint32_t* const u32_targets[] = {&out.meta.mark, &out.indev};
    constexpr int u32_types[] = {NFQA_MARK, NFQA_IFINDEX_INDEV};
    for (std::size_t i = 0; i < std::size(u32_types); ++i) {
        const attr_ref& a = attrs[static_cast<std::size_t>(u32_types[i])];
        if (!a.present) continue;
        if (a.len < 4) return {queue_parse_status::bad_attribute_size, true};
        *u32_targets[i] = load_be32(a.data);
    }

    const attr_ref& payload = attrs[NFQA_PAYLOAD];
    if (!payload.present) return {queue_parse_status::missing_payload, true};
    out.data = payload.data;
    out.captured_len = static_cast<std::uint32_t>(payload.len);  // < nlmsg_len, so fits
    out.wire_len = out.captured_len;
    const attr_ref& cap = attrs[NFQA_CAP_LEN];
    if (cap.present) {
        if (cap.len < 4) return {queue_parse_status::bad_attribute_size, true};
        const std::uint32_t wire = load_be32(cap.data);
        if (wire < out.captured_len) return {queue_parse_status::bad_capture_length, true};
        out.wire_len = wire;
    }
    // With an input interface the kernel names, it alone decides the localhost zone: a
    // 127.0.0.1 source arriving on eth0 is spoofed, not local.
    out.meta.interface_known = loopback_ifindex != 0 && out.indev != 0;
    out.meta.from_loopback_interface = out.meta.interface_known && out.indev == loopback_ifindex;
    return {queue_parse_status::ok, true};
}

}  // namespace pbxgate
