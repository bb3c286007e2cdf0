#include "offload/conntrack_revoker.hpp"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <memory>

namespace pbxgate {

namespace {

constexpr std::uint16_t ct_type(std::uint16_t msg) noexcept {
    return static_cast<std::uint16_t>((NFNL_SUBSYS_CTNETLINK << 8) | msg);
}

nlmsghdr* put_header(std::vector<std::uint8_t>& buf, std::uint16_t type, std::uint16_t flags, std::uint8_t family,
                     std::uint32_t seq) {
    buf.assign(MNL_SOCKET_BUFFER_SIZE, 0);
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = flags;
    nlh->nlmsg_seq = seq;
    auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
    nfg->nfgen_family = family;
    nfg->version = NFNETLINK_V0;
    nfg->res_id = 0;
    return nlh;
}

struct attr_table {
    const nlattr* tb[CTA_MAX + 1] = {};
};

int collect_attr(const nlattr* attr, void* data) {
    auto* t = static_cast<attr_table*>(data);
    const int type = mnl_attr_get_type(attr);
    if (mnl_attr_type_valid(attr, CTA_MAX) < 0) return MNL_CB_OK;  // newer kernel's attribute: skip
    if ((type == CTA_MARK && mnl_attr_validate(attr, MNL_TYPE_U32) < 0) ||
        (type == CTA_ZONE && mnl_attr_validate(attr, MNL_TYPE_U16) < 0) ||
        (type == CTA_TUPLE_ORIG && mnl_attr_validate(attr, MNL_TYPE_NESTED) < 0))
        return MNL_CB_ERROR;
    t->tb[type] = attr;
    return MNL_CB_OK;
}

// A nested attribute's children by type; types above Max (a newer kernel's) are left out.
template <int Max>
struct nested_table {
    const nlattr* tb[Max + 1] = {};
};

template <int Max>
bool parse_nested(const nlattr* parent, nested_table<Max>& out) {
    const auto collect = [](const nlattr* attr, void* data) -> int {
        const int type = mnl_attr_get_type(attr);
        if (type <= Max) static_cast<nested_table<Max>*>(data)->tb[type] = attr;
        return MNL_CB_OK;
    };
    return mnl_attr_parse_nested(parent, collect, &out) >= 0;
}

struct socket_closer {
    void operator()(mnl_socket* s) const noexcept { mnl_socket_close(s); }
};

}  // namespace

std::optional<ct_entry> parse_ct_entry(std::span<const std::uint8_t> message) {
    if (message.size() < sizeof(nlmsghdr) + sizeof(nfgenmsg)) return std::nullopt;
    nlmsghdr hdr;
    std::memcpy(&hdr, message.data(), sizeof hdr);
    if (hdr.nlmsg_len < sizeof(nlmsghdr) + sizeof(nfgenmsg) || hdr.nlmsg_len > message.size()) return std::nullopt;
    if (hdr.nlmsg_type != ct_type(IPCTNL_MSG_CT_NEW)) return std::nullopt;
    // libmnl reads in place: it needs the header aligned, which a netlink buffer is.
    const auto* nlh = reinterpret_cast<const nlmsghdr*>(message.data());
    attr_table t;
    if (mnl_attr_parse(nlh, sizeof(nfgenmsg), collect_attr, &t) < 0) return std::nullopt;
    if (!t.tb[CTA_TUPLE_ORIG]) return std::nullopt;
    ct_entry e;
    e.family = static_cast<const nfgenmsg*>(mnl_nlmsg_get_payload(nlh))->nfgen_family;
    const auto* tuple = reinterpret_cast<const std::uint8_t*>(t.tb[CTA_TUPLE_ORIG]);
    e.tuple_orig.assign(tuple, tuple + t.tb[CTA_TUPLE_ORIG]->nla_len);
    if (t.tb[CTA_MARK]) e.mark = ntohl(mnl_attr_get_u32(t.tb[CTA_MARK]));
    if (t.tb[CTA_ZONE]) e.zone = ntohs(mnl_attr_get_u16(t.tb[CTA_ZONE]));
    return e;
}

void build_ct_dump_request(std::vector<std::uint8_t>& buf, std::uint32_t seq) {
    nlmsghdr* nlh = put_header(buf, ct_type(IPCTNL_MSG_CT_GET), NLM_F_REQUEST | NLM_F_DUMP, AF_UNSPEC, seq);
    buf.resize(nlh->nlmsg_len);
}

void build_ct_mark_clear(std::vector<std::uint8_t>& buf, const ct_entry& e, std::uint32_t mask, std::uint32_t seq) {
    nlmsghdr* nlh = put_header(buf, ct_type(IPCTNL_MSG_CT_NEW), NLM_F_REQUEST | NLM_F_ACK, e.family, seq);
    // The original tuple goes back verbatim: it names the connection to update.
    std::memcpy(mnl_nlmsg_get_payload_tail(nlh), e.tuple_orig.data(), e.tuple_orig.size());
    nlh->nlmsg_len += MNL_ALIGN(static_cast<std::uint32_t>(e.tuple_orig.size()));
    if (e.zone) mnl_attr_put_u16(nlh, CTA_ZONE, htons(*e.zone));
    mnl_attr_put_u32(nlh, CTA_MARK, htonl(0));
    mnl_attr_put_u32(nlh, CTA_MARK_MASK, htonl(mask));
    buf.resize(nlh->nlmsg_len);
}

std::optional<ct_tuple> parse_ct_tuple(const std::vector<std::uint8_t>& tuple_orig) {
    // A copy into an aligned buffer: libmnl reads attributes in place. A tuple is ~100 bytes.
    alignas(nlattr) std::array<std::uint8_t, 1024> aligned{};
    if (tuple_orig.size() < sizeof(nlattr) || tuple_orig.size() > aligned.size()) return std::nullopt;
    std::copy(tuple_orig.begin(), tuple_orig.end(), aligned.begin());
    const auto* top = reinterpret_cast<const nlattr*>(aligned.data());
    if (top->nla_len < sizeof(nlattr) || top->nla_len > tuple_orig.size()) return std::nullopt;
    nested_table<CTA_TUPLE_MAX> tuple;
    if (!parse_nested(top, tuple)) return std::nullopt;
    if (!tuple.tb[CTA_TUPLE_IP] || !tuple.tb[CTA_TUPLE_PROTO]) return std::nullopt;
    nested_table<CTA_IP_MAX> ip;
    if (!parse_nested(tuple.tb[CTA_TUPLE_IP], ip)) return std::nullopt;
    nested_table<CTA_PROTO_MAX> proto;
    if (!parse_nested(tuple.tb[CTA_TUPLE_PROTO], proto)) return std::nullopt;
    ct_tuple t;
    const auto address = [](const nlattr* a, std::size_t len, ip_address& out) {
        if (a == nullptr || mnl_attr_get_payload_len(a) < len) return false;
        out.family = len == 4 ? ip_family::v4 : ip_family::v6;
        std::memcpy(out.bytes.data(), mnl_attr_get_payload(a), len);
        return true;
    };
    const bool v4 = address(ip.tb[CTA_IP_V4_SRC], 4, t.src) && address(ip.tb[CTA_IP_V4_DST], 4, t.dst);
    if (!v4 && !(address(ip.tb[CTA_IP_V6_SRC], 16, t.src) && address(ip.tb[CTA_IP_V6_DST], 16, t.dst)))
        return std::nullopt;
    if (!proto.tb[CTA_PROTO_NUM] || mnl_attr_get_payload_len(proto.tb[CTA_PROTO_NUM]) < 1) return std::nullopt;
    t.protocol = mnl_attr_get_u8(proto.tb[CTA_PROTO_NUM]);
    if (proto.tb[CTA_PROTO_SRC_PORT] && mnl_attr_get_payload_len(proto.tb[CTA_PROTO_SRC_PORT]) >= 2)
        t.sport = ntohs(mnl_attr_get_u16(proto.tb[CTA_PROTO_SRC_PORT]));
    if (proto.tb[CTA_PROTO_DST_PORT] && mnl_attr_get_payload_len(proto.tb[CTA_PROTO_DST_PORT]) >= 2)
        t.dport = ntohs(mnl_attr_get_u16(proto.tb[CTA_PROTO_DST_PORT]));
    return t;
}

revoke_result revoke_offloads(const offload_marks& marks) {
    return revoke_offloads_matching(marks, [](const ct_entry&) { return true; });
}

revoke_result revoke_offloads_matching(const offload_marks& marks, const std::function<bool(const ct_entry&)>& pick) {
    revoke_result r;
    std::unique_ptr<mnl_socket, socket_closer> sock(mnl_socket_open(NETLINK_NETFILTER));
    if (!sock || mnl_socket_bind(sock.get(), 0, MNL_SOCKET_AUTOPID) < 0) {
        r.error = std::string("ctnetlink socket: ") + std::strerror(errno);
        return r;
    }
    const unsigned port = mnl_socket_get_portid(sock.get());
    std::vector<std::uint8_t> req;
    std::uint32_t seq = 1;
    build_ct_dump_request(req, seq);
    if (mnl_socket_sendto(sock.get(), req.data(), req.size()) < 0) {
        r.error = std::string("ctnetlink dump request: ") + std::strerror(errno);
        return r;
    }
    // Collect first, update after the dump: the socket cannot take requests mid-dump.
    std::vector<ct_entry> marked;
    std::vector<std::uint8_t> rx(std::max<std::size_t>(MNL_SOCKET_BUFFER_SIZE, 32768));
    struct dump_ctx {
        const offload_marks* marks;
        std::vector<ct_entry>* marked;
        std::uint64_t* seen;
        const std::function<bool(const ct_entry&)>* pick;
    } ctx{&marks, &marked, &r.seen, &pick};
    const mnl_cb_t on_entry = [](const nlmsghdr* nlh, void* data) -> int {
        auto* c = static_cast<dump_ctx*>(data);
        ++*c->seen;
        auto e = parse_ct_entry({reinterpret_cast<const std::uint8_t*>(nlh), nlh->nlmsg_len});
        if (e && (*c->pick)(*e) && c->marks->is_ours(e->mark)) c->marked->push_back(std::move(*e));
        return MNL_CB_OK;
    };
    for (;;) {
        const ssize_t n = mnl_socket_recvfrom(sock.get(), rx.data(), rx.size());
        if (n < 0) {
            r.error = std::string("ctnetlink dump: ") + std::strerror(errno);
            return r;
        }
        const int ret = mnl_cb_run(rx.data(), static_cast<std::size_t>(n), seq, port, on_entry, &ctx);
        if (ret == MNL_CB_STOP) break;
        if (ret < 0) {
            r.error = std::string("ctnetlink dump: ") + std::strerror(errno);
            return r;
        }
    }
    for (const ct_entry& e : marked) {
        build_ct_mark_clear(req, e, marks.mask, ++seq);
        if (mnl_socket_sendto(sock.get(), req.data(), req.size()) < 0) {
            ++r.failed;
            continue;
        }
        const ssize_t n = mnl_socket_recvfrom(sock.get(), rx.data(), rx.size());
        // The connection may have ended since the dump (ENOENT): nothing left to revoke.
        if (n < 0 || mnl_cb_run(rx.data(), static_cast<std::size_t>(n), seq, port, nullptr, nullptr) < 0)
            ++r.failed;
        else
            ++r.revoked;
    }
    return r;
}

}  // namespace pbxgate
