// packet_builder: hand-made IPv4/IPv6 packets for tests (header-only, reusable).
//
//   auto pkt = packet_builder::ipv4("192.0.2.1", "198.51.100.7").udp(5060, 5060).payload(100).build();
//   auto v6  = packet_builder::ipv6("2001:db8::1", "2001:db8::2")
//                  .ext_header(ext::hop_by_hop, 8).fragment(0, true).tcp(1234, 5061).build();
//
// Length fields (IPv4 total length and IHL, IPv6 payload length, UDP length, TCP data
// offset) are computed from what was added unless overridden, so a test can lie in
// exactly one field. The IPv4 header checksum is filled in; L4 checksums are left 0
// (the parser does not verify them).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "pbxgate/address.hpp"

namespace pbxgate::test {

using bytes = std::vector<std::uint8_t>;

namespace ext {  // IPv6 extension header types
inline constexpr std::uint8_t hop_by_hop = 0;
inline constexpr std::uint8_t routing = 43;
inline constexpr std::uint8_t fragment = 44;
inline constexpr std::uint8_t esp = 50;
inline constexpr std::uint8_t ah = 51;
inline constexpr std::uint8_t no_next = 59;
inline constexpr std::uint8_t dest_options = 60;
inline constexpr std::uint8_t mobility = 135;
inline constexpr std::uint8_t hip = 139;
inline constexpr std::uint8_t shim6 = 140;
}  // namespace ext

namespace ipproto {
inline constexpr std::uint8_t icmp = 1;
inline constexpr std::uint8_t ipip = 4;
inline constexpr std::uint8_t tcp = 6;
inline constexpr std::uint8_t udp = 17;
inline constexpr std::uint8_t gre = 47;
inline constexpr std::uint8_t icmpv6 = 58;
inline constexpr std::uint8_t sctp = 132;
}  // namespace ipproto

namespace tcpflag {
inline constexpr std::uint8_t fin = 0x01, syn = 0x02, rst = 0x04, psh = 0x08, ack = 0x10;
}

inline void put16(bytes& b, std::size_t at, std::uint16_t v) {
    b.at(at) = static_cast<std::uint8_t>(v >> 8);
    b.at(at + 1) = static_cast<std::uint8_t>(v);
}
inline void append16(bytes& b, std::uint16_t v) {
    b.push_back(static_cast<std::uint8_t>(v >> 8));
    b.push_back(static_cast<std::uint8_t>(v));
}

// Copy-range/snaplen cut: the first n bytes.
inline bytes truncated(bytes b, std::size_t n) {
    if (n < b.size()) b.resize(n);
    return b;
}
// Ethernet minimum-frame padding: n zero bytes after the IP packet.
inline bytes padded(bytes b, std::size_t n) {
    b.insert(b.end(), n, 0);
    return b;
}

class packet_builder {
public:
    static packet_builder ipv4(const std::string& src, const std::string& dst) {
        return packet_builder(ip_family::v4, src, dst);
    }
    static packet_builder ipv6(const std::string& src, const std::string& dst) {
        return packet_builder(ip_family::v6, src, dst);
    }

    // --- L4 (pick one) ---
    packet_builder& udp(std::uint16_t sport, std::uint16_t dport) {
        protocol_ = ipproto::udp;
        l4_.clear();
        append16(l4_, sport);
        append16(l4_, dport);
        append16(l4_, 0);  // length, set in build()
        append16(l4_, 0);  // checksum
        return *this;
    }
    // option_bytes: TCP options (NOPs), a multiple of 4.
    packet_builder& tcp(std::uint16_t sport, std::uint16_t dport, std::uint8_t flags = tcpflag::syn,
                        std::size_t option_bytes = 0) {
        protocol_ = ipproto::tcp;
        l4_.clear();
        append16(l4_, sport);
        append16(l4_, dport);
        for (int i = 0; i < 8; ++i) l4_.push_back(static_cast<std::uint8_t>(i + 1));  // seq, ack
        l4_.push_back(0);  // data offset, set in build()
        l4_.push_back(flags);
        append16(l4_, 65535);  // window
        append16(l4_, 0);      // checksum
        append16(l4_, 0);      // urgent pointer
        l4_.insert(l4_.end(), option_bytes, 0x01);
        return *this;
    }
    // ICMP in IPv4, ICMPv6 in IPv6.
    packet_builder& icmp(std::uint8_t type, std::uint8_t code) {
        protocol_ = family_ == ip_family::v4 ? ipproto::icmp : ipproto::icmpv6;
        l4_ = {type, code, 0, 0, 0, 1, 0, 1};  // checksum, identifier, sequence
        return *this;
    }
    // Any protocol number, no L4 header (non-first fragments, SCTP, GRE, ...).
    packet_builder& protocol(std::uint8_t p) {
        protocol_ = p;
        l4_.clear();
        return *this;
    }

    // --- payload ---
    packet_builder& payload(std::size_t n, std::uint8_t fill = 0xab) {
        payload_.assign(n, fill);
        return *this;
    }
    packet_builder& payload(const std::string& text) {
        payload_.assign(text.begin(), text.end());
        return *this;
    }

    // --- IP options / extension headers / fragments ---
    // IPv4 options (NOPs), a multiple of 4, at most 40.
    packet_builder& ip_options(std::size_t n) {
        v4_options_ = n;
        return *this;
    }
    // IPv6 extension header of `type` and `total_len` bytes (a multiple of 8, or of 4 for AH).
    packet_builder& ext_header(std::uint8_t type, std::size_t total_len = 8) {
        ext_.push_back({type, total_len, 0, false});
        return *this;
    }
    // IPv4: sets the MF flag and offset. IPv6: appends a fragment extension header.
    // `offset` is in 8-byte units.
    packet_builder& fragment(std::uint16_t offset, bool more_fragments) {
        if (family_ == ip_family::v4) {
            v4_frag_ = static_cast<std::uint16_t>((more_fragments ? 0x2000 : 0) | (offset & 0x1fff));
        } else {
            ext_.push_back({ext::fragment, 8, offset, more_fragments});
        }
        return *this;
    }
    packet_builder& dont_fragment() {
        v4_frag_ = static_cast<std::uint16_t>(v4_frag_ | 0x4000);
        return *this;
    }

    // --- lies (override one computed field) ---
    packet_builder& ip_length_field(std::uint16_t v) {  // IPv4 total length / IPv6 payload length
        ip_length_field_ = v;
        return *this;
    }
    packet_builder& ihl_field(std::uint8_t v) {
        ihl_field_ = v;
        return *this;
    }
    packet_builder& version_field(std::uint8_t v) {
        version_field_ = v;
        return *this;
    }
    packet_builder& udp_length_field(std::uint16_t v) {
        udp_length_field_ = v;
        return *this;
    }
    packet_builder& tcp_offset_field(std::uint8_t v) {  // in 4-byte words
        tcp_offset_field_ = v;
        return *this;
    }

    bytes build() const {
        bytes l4 = l4_;
        if (protocol_ == ipproto::udp && l4.size() == 8) {
            const std::size_t n = l4.size() + payload_.size();
            put16(l4, 4, udp_length_field_.value_or(static_cast<std::uint16_t>(n)));
        }
        if (protocol_ == ipproto::tcp && l4.size() >= 20) {
            const auto words = tcp_offset_field_.value_or(static_cast<std::uint8_t>(l4.size() / 4));
            l4[12] = static_cast<std::uint8_t>(words << 4);
        }
        l4.insert(l4.end(), payload_.begin(), payload_.end());
        return family_ == ip_family::v4 ? build_v4(l4) : build_v6(l4);
    }

private:
    struct ext_spec {
        std::uint8_t type;
        std::size_t len;
        std::uint16_t frag_offset;
        bool more;
    };

    packet_builder(ip_family f, const std::string& src, const std::string& dst) : family_(f) {
        const auto s = parse_address(src);
        const auto d = parse_address(dst);
        if (!s || !d || s->family != f || d->family != f)
            throw std::invalid_argument("packet_builder: bad address " + src + " / " + dst);
        src_ = *s;
        dst_ = *d;
    }

    bytes build_v4(const bytes& l4) const {
        const std::size_t hlen = 20 + v4_options_;
        bytes b(hlen, 0);
        b[0] = static_cast<std::uint8_t>((version_field_.value_or(4) << 4) |
                                         ihl_field_.value_or(static_cast<std::uint8_t>(hlen / 4)));
        put16(b, 2, ip_length_field_.value_or(static_cast<std::uint16_t>(hlen + l4.size())));
        put16(b, 4, 0x1234);  // identification
        put16(b, 6, v4_frag_);
        b[8] = 64;  // TTL
        b[9] = protocol_;
        for (int i = 0; i < 4; ++i) {
            b[12 + i] = src_.bytes[i];
            b[16 + i] = dst_.bytes[i];
        }
        for (std::size_t i = 20; i < hlen; ++i) b[i] = 0x01;  // NOP options
        std::uint32_t sum = 0;
        for (std::size_t i = 0; i < hlen; i += 2) sum += std::uint32_t(b[i] << 8 | b[i + 1]);
        while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
        put16(b, 10, static_cast<std::uint16_t>(~sum));
        b.insert(b.end(), l4.begin(), l4.end());
        return b;
    }

    bytes build_v6(const bytes& l4) const {
        bytes b(40, 0);
        b[0] = static_cast<std::uint8_t>(version_field_.value_or(6) << 4);
        b[6] = ext_.empty() ? protocol_ : ext_.front().type;
        b[7] = 64;  // hop limit
        for (int i = 0; i < 16; ++i) {
            b[8 + i] = src_.bytes[i];
            b[24 + i] = dst_.bytes[i];
        }
        for (std::size_t i = 0; i < ext_.size(); ++i) {
            const auto& e = ext_[i];
            const std::uint8_t next = i + 1 < ext_.size() ? ext_[i + 1].type : protocol_;
            bytes h(e.len, 0);
            h.at(0) = next;
            if (e.type == ext::fragment) {
                put16(h, 2, static_cast<std::uint16_t>((e.frag_offset << 3) | (e.more ? 1 : 0)));
                put16(h, 4, 0xbeef);  // identification
            } else if (e.type == ext::ah) {
                h.at(1) = static_cast<std::uint8_t>(e.len / 4 - 2);
            } else {
                h.at(1) = static_cast<std::uint8_t>(e.len / 8 - 1);
                if (e.type == ext::hop_by_hop || e.type == ext::dest_options) {
                    h.at(2) = 0x01;  // one PadN option filling the header
                    h.at(3) = static_cast<std::uint8_t>(e.len - 4);
                }
            }
            b.insert(b.end(), h.begin(), h.end());
        }
        b.insert(b.end(), l4.begin(), l4.end());
        put16(b, 4, ip_length_field_.value_or(static_cast<std::uint16_t>(b.size() - 40)));
        return b;
    }

    ip_family family_;
    ip_address src_;
    ip_address dst_;
    std::uint8_t protocol_ = ipproto::udp;
    bytes l4_;
    bytes payload_;
    std::size_t v4_options_ = 0;
    std::uint16_t v4_frag_ = 0;
    std::vector<ext_spec> ext_;
    std::optional<std::uint16_t> ip_length_field_;
    std::optional<std::uint8_t> ihl_field_;
    std::optional<std::uint8_t> version_field_;
    std::optional<std::uint16_t> udp_length_field_;
    std::optional<std::uint8_t> tcp_offset_field_;
};

}  // namespace pbxgate::test
