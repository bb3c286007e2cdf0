// The ctnetlink messages of offload revocation: dump entries parsed bounds-checked, and the
// mark update that clears only our bits.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <sys/socket.h>

#include <cstring>
#include <optional>
#include <vector>

#include "offload/conntrack_revoker.hpp"

using namespace pbxgate;

namespace {

// A dump entry as the kernel sends it: nfgenmsg, CTA_TUPLE_ORIG{CTA_TUPLE_IP{src,dst},
// CTA_TUPLE_PROTO{proto,sport,dport}}, optional CTA_MARK and CTA_ZONE, plus CTA_STATUS.
std::vector<std::uint8_t> dump_entry(std::optional<std::uint32_t> mark, std::optional<std::uint16_t> zone,
                                     bool with_tuple = true) {
    std::vector<std::uint8_t> buf(MNL_SOCKET_BUFFER_SIZE);
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
    nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW;
    nlh->nlmsg_flags = NLM_F_MULTI;
    auto* g = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
    g->nfgen_family = AF_INET;
    if (with_tuple) {
        nlattr* tuple = mnl_attr_nest_start(nlh, CTA_TUPLE_ORIG);
        nlattr* ip = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
        mnl_attr_put_u32(nlh, CTA_IP_V4_SRC, htonl(0xcb00710a));  // 203.0.113.10
        mnl_attr_put_u32(nlh, CTA_IP_V4_DST, htonl(0xcb007101));
        mnl_attr_nest_end(nlh, ip);
        nlattr* proto = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
        mnl_attr_put_u8(nlh, CTA_PROTO_NUM, 17);
        mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, htons(30000));
        mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, htons(10000));
        mnl_attr_nest_end(nlh, proto);
        mnl_attr_nest_end(nlh, tuple);
    }
    mnl_attr_put_u32(nlh, CTA_STATUS, htonl(0x8));
    if (mark) mnl_attr_put_u32(nlh, CTA_MARK, htonl(*mark));
    if (zone) mnl_attr_put_u16(nlh, CTA_ZONE, htons(*zone));
    buf.resize(nlh->nlmsg_len);
    return buf;
}

}  // namespace

TEST_CASE("ctnetlink: dump entries parse, bad ones are refused", "[offload][ctnetlink]") {
    struct row {
        const char* what;
        std::vector<std::uint8_t> bytes;
        bool ok;
        std::uint32_t mark;
        std::optional<std::uint16_t> zone;
    };
    auto truncated = dump_entry(0x00100001, std::nullopt);
    truncated.resize(truncated.size() - 6);
    auto lying_len = dump_entry(1, std::nullopt);
    const std::uint32_t too_long = static_cast<std::uint32_t>(lying_len.size() + 64);
    std::memcpy(lying_len.data(), &too_long, 4);
    auto bad_attr = dump_entry(0x1, std::nullopt);
    // CTA_MARK's length field: 5 instead of 8 (a u32 must be 4 bytes of payload).
    for (std::size_t i = 20; i + 4 <= bad_attr.size(); i += 4) {
        std::uint16_t len, type;
        std::memcpy(&len, &bad_attr[i], 2);
        std::memcpy(&type, &bad_attr[i + 2], 2);
        if (type == CTA_MARK && len == 8) {
            const std::uint16_t five = 5;
            std::memcpy(&bad_attr[i], &five, 2);
            break;
        }
    }
    const row rows[] = {
        {"marked entry", dump_entry(0x00100001, std::nullopt), true, 0x00100001, std::nullopt},
        {"no mark", dump_entry(std::nullopt, std::nullopt), true, 0, std::nullopt},
        {"with a zone", dump_entry(0x00200000, 7), true, 0x00200000, 7},
        {"no original tuple", dump_entry(1, std::nullopt, false), false, 0, std::nullopt},
        {"cut short", truncated, false, 0, std::nullopt},
        {"length beyond the buffer", lying_len, false, 0, std::nullopt},
        {"malformed mark attribute", bad_attr, false, 0, std::nullopt},
        {"too short for a header", std::vector<std::uint8_t>(10, 0), false, 0, std::nullopt},
    };
    for (const auto& r : rows) {
        INFO(r.what);
        const auto e = parse_ct_entry(r.bytes);
        REQUIRE(e.has_value() == r.ok);
        if (!e) continue;
        CHECK(e->family == AF_INET);
        CHECK(e->mark == r.mark);
        CHECK(e->zone == r.zone);
        CHECK(e->tuple_orig.size() > 4);
    }
}

TEST_CASE("ctnetlink: the update names the connection by its tuple and clears only our bits",
          "[offload][ctnetlink]") {
    const auto entry = parse_ct_entry(dump_entry(0x00100001, 3));
    REQUIRE(entry);
    std::vector<std::uint8_t> buf;
    build_ct_mark_clear(buf, *entry, 0x00f00000, 42);
    REQUIRE(buf.size() >= sizeof(nlmsghdr) + sizeof(nfgenmsg));
    const auto* nlh = reinterpret_cast<const nlmsghdr*>(buf.data());
    CHECK(nlh->nlmsg_len == buf.size());
    CHECK(nlh->nlmsg_type == ((NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW));
    CHECK((nlh->nlmsg_flags & NLM_F_REQUEST) != 0);
    CHECK((nlh->nlmsg_flags & NLM_F_CREATE) == 0);  // an update: never creates a connection
    CHECK(nlh->nlmsg_seq == 42);
    CHECK(static_cast<const nfgenmsg*>(mnl_nlmsg_get_payload(nlh))->nfgen_family == AF_INET);

    // Walk the attributes independently (no libmnl parse helpers).
    std::optional<std::uint32_t> mark, mask;
    std::optional<std::uint16_t> zone;
    bool tuple_same = false;
    for (std::size_t a = sizeof(nlmsghdr) + sizeof(nfgenmsg); a + 4 <= buf.size();) {
        nlattr at;
        std::memcpy(&at, &buf[a], sizeof at);
        REQUIRE(at.nla_len >= 4);
        REQUIRE(a + at.nla_len <= buf.size());
        const auto type = at.nla_type & NLA_TYPE_MASK;
        std::uint32_t v32 = 0;
        std::uint16_t v16 = 0;
        if (type == CTA_MARK || type == CTA_MARK_MASK) std::memcpy(&v32, &buf[a + 4], 4);
        if (type == CTA_MARK) mark = ntohl(v32);
        if (type == CTA_MARK_MASK) mask = ntohl(v32);
        if (type == CTA_ZONE) {
            std::memcpy(&v16, &buf[a + 4], 2);
            zone = ntohs(v16);
        }
        if (type == CTA_TUPLE_ORIG)
            tuple_same = at.nla_len == entry->tuple_orig.size() &&
                         std::memcmp(&buf[a], entry->tuple_orig.data(), at.nla_len) == 0;
        a += NLA_ALIGN(at.nla_len);
    }
    CHECK(tuple_same);
    // The kernel applies mark = (mark & ~mask) ^ value: value 0 clears our bits, keeps the rest.
    CHECK(mark == std::optional<std::uint32_t>(0));
    CHECK(mask == std::optional<std::uint32_t>(0x00f00000));
    CHECK(zone == std::optional<std::uint16_t>(3));

    std::vector<std::uint8_t> dump;
    build_ct_dump_request(dump, 9);
    const auto* d = reinterpret_cast<const nlmsghdr*>(dump.data());
    CHECK(d->nlmsg_len == dump.size());
    CHECK(d->nlmsg_type == ((NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET));
    CHECK((d->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP);
}
