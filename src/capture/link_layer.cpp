// Link-header stripping for the link types real VoIP captures come in.
#include "capture/link_layer.hpp"

#include <pcap/dlt.h>

#include "util/byte_order.hpp"

namespace pbxgate::capture {
namespace {

constexpr int dlt_raw_linux = 12;   // DLT_RAW on most platforms
constexpr int dlt_raw_bsd = 14;     // DLT_RAW on OpenBSD; files keep what the writer used
constexpr int linktype_raw = 101;   // LINKTYPE_RAW, normally mapped to DLT_RAW by libpcap
constexpr int dlt_ipv4 = 228;       // LINKTYPE_IPV4
constexpr int dlt_ipv6 = 229;       // LINKTYPE_IPV6
constexpr int dlt_linux_sll2 = 276; // LINKTYPE_LINUX_SLL2

constexpr std::uint16_t ethertype_ipv4 = 0x0800;
constexpr std::uint16_t ethertype_ipv6 = 0x86dd;
constexpr std::uint16_t ethertype_vlan = 0x8100;   // 802.1Q
constexpr std::uint16_t ethertype_qinq = 0x88a8;   // 802.1ad
// Q-in-Q stacks two tags; a few more tolerates odd provider setups without letting a
// crafted frame loop.
constexpr unsigned max_vlan_tags = 4;

constexpr std::size_t ethernet_header = 14;
constexpr std::size_t vlan_tag = 4;
constexpr std::size_t sll_header = 16;
constexpr std::size_t sll2_header = 20;
constexpr std::size_t bsd_loopback_header = 4;

inline std::uint32_t le32(const std::uint8_t* p) noexcept {
    return (std::uint32_t{p[3]} << 24) | (std::uint32_t{p[2]} << 16) | (std::uint32_t{p[1]} << 8) |
           std::uint32_t{p[0]};
}

// IP follows only when the payload's version nibble agrees with what the link header
// says (raw IP has no type field at all).
std::optional<std::size_t> ip_if_version(const std::uint8_t* frame, std::size_t caplen,
                                         std::size_t offset, bool v4_ok, bool v6_ok) noexcept {
    if (caplen <= offset) return std::nullopt;
    const unsigned version = frame[offset] >> 4;
    if ((version == 4 && v4_ok) || (version == 6 && v6_ok)) return offset;
    return std::nullopt;
}

std::optional<std::size_t> after_ethertype(std::uint16_t type, const std::uint8_t* frame,
                                           std::size_t caplen, std::size_t offset) noexcept {
    if (type == ethertype_ipv4) return ip_if_version(frame, caplen, offset, true, false);
    if (type == ethertype_ipv6) return ip_if_version(frame, caplen, offset, false, true);
    return std::nullopt;
}

// Address families of IPv4 and IPv6 in DLT_NULL/DLT_LOOP headers: AF_INET is 2
// everywhere, AF_INET6 differs by the capturing OS (Linux 10, BSDs 24, FreeBSD 28,
// macOS 30).
bool is_af_inet(std::uint32_t af) noexcept { return af == 2; }
bool is_af_inet6(std::uint32_t af) noexcept { return af == 10 || af == 24 || af == 28 || af == 30; }

std::optional<std::size_t> after_address_family(std::uint32_t af, const std::uint8_t* frame,
                                                std::size_t caplen) noexcept {
    if (is_af_inet(af)) return ip_if_version(frame, caplen, bsd_loopback_header, true, false);
    if (is_af_inet6(af)) return ip_if_version(frame, caplen, bsd_loopback_header, false, true);
    return std::nullopt;
}

}  // namespace

bool link_type_supported(int dlt) noexcept {
    switch (dlt) {
    case DLT_EN10MB:
    case DLT_LINUX_SLL:
    case dlt_linux_sll2:
    case DLT_NULL:
    case DLT_LOOP:
    case dlt_raw_linux:
    case dlt_raw_bsd:
    case linktype_raw:
    case dlt_ipv4:
    case dlt_ipv6: return true;
    default: return false;
    }
}

std::optional<std::size_t> ip_offset(int dlt, const std::uint8_t* frame, std::size_t caplen) noexcept {
    switch (dlt) {
    case DLT_EN10MB: {
        if (caplen < ethernet_header) return std::nullopt;
        std::size_t type_at = 12;
        std::uint16_t type = load_be16(frame + type_at);
        for (unsigned tags = 0; type == ethertype_vlan || type == ethertype_qinq; ++tags) {
            if (tags == max_vlan_tags || caplen < type_at + vlan_tag + 2) return std::nullopt;
            type_at += vlan_tag;
            type = load_be16(frame + type_at);
        }
        // Values below 0x0600 are 802.3 lengths (LLC/SNAP frames: STP, CDP, ...): not IP.
        return after_ethertype(type, frame, caplen, type_at + 2);
    }
    case DLT_LINUX_SLL:
        if (caplen < sll_header) return std::nullopt;
        return after_ethertype(load_be16(frame + 14), frame, caplen, sll_header);
    case dlt_linux_sll2:
        if (caplen < sll2_header) return std::nullopt;
        return after_ethertype(load_be16(frame), frame, caplen, sll2_header);
    case DLT_NULL: {
        // Written in the capturing host's byte order, which the file does not record:
        // try both (the families are small numbers, so the two readings cannot collide).
        if (caplen < bsd_loopback_header) return std::nullopt;
        const std::uint32_t le = le32(frame);
        const std::uint32_t be = load_be32(frame);
        const std::uint32_t af = le < 0x10000 ? le : be;
        return after_address_family(af, frame, caplen);
    }
    case DLT_LOOP:  // like DLT_NULL but always network byte order
        if (caplen < bsd_loopback_header) return std::nullopt;
        return after_address_family(load_be32(frame), frame, caplen);
    case dlt_raw_linux:
    case dlt_raw_bsd:
    case linktype_raw: return ip_if_version(frame, caplen, 0, true, true);
    case dlt_ipv4: return ip_if_version(frame, caplen, 0, true, false);
    case dlt_ipv6: return ip_if_version(frame, caplen, 0, false, true);
    default: return std::nullopt;
    }
}

}  // namespace pbxgate::capture
