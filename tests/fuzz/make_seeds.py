#!/usr/bin/env python3
"""Writes the fuzz seed corpora under tests/fuzz/corpus/ (committed; rerun after changes).

  packet/         IP packets like the unit tests' (tests/unit/packet_builder.hpp): well-formed
                  TCP/UDP/ICMP over IPv4 and IPv6, fragments, extension-header chains, and
                  each kind of malformation the parser names.
  queue_message/  NFQUEUE packet messages as the kernel lays them out (nlmsghdr, nfgenmsg,
                  4-aligned attributes: packet header, mark, in/out ifindex, cap len, payload)
                  wrapping some of those packets, plus a few broken framings.
  policy/         the shipped TOML files and small site files extending freepbx.toml.
  asterisk_config/ the Asterisk/FreePBX corpus (tests/data/asterisk-configs) and small
                  configs for each syntax point the reader handles (includes of the two
                  in-memory custom files, templates, appends, block comments, a BOM).
Only documentation addresses. Deterministic: the same files every run.
"""
import ipaddress
import re
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def ip4(src, dst, proto, l4, ihl=5, total=None, frag=0, options=b""):
    hdr_len = 20 + len(options)
    if ihl is None:
        ihl = hdr_len // 4
    total = hdr_len + len(l4) if total is None else total
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, total, 1, frag, 64, proto, 0,
                    ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(dst).packed)
    return h + options + l4


def ip6(src, dst, nxt, rest, plen=None):
    plen = len(rest) if plen is None else plen
    return struct.pack("!IHBB16s16s", 0x60000000, plen, nxt, 64,
                       ipaddress.IPv6Address(src).packed, ipaddress.IPv6Address(dst).packed) + rest


def udp(sport, dport, payload=b"", length=None):
    length = 8 + len(payload) if length is None else length
    return struct.pack("!HHHH", sport, dport, length, 0) + payload


def tcp(sport, dport, flags=0x02, doff=5, payload=b""):
    return struct.pack("!HHIIBBHHH", sport, dport, 1, 0, doff << 4, flags, 65535, 0, 0) + payload


def icmp(t, c=0):
    return struct.pack("!BBHI", t, c, 0, 0)


def ext(nxt, body_len=6):  # hop-by-hop/dest options/routing: 8 bytes minimum
    return bytes([nxt, (2 + body_len) // 8 - 1]) + bytes(body_len)


def frag6(nxt, offset, more):
    return struct.pack("!BBHI", nxt, 0, (offset << 3) | (1 if more else 0), 7)


SIP = b"OPTIONS sip:100@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 203.0.113.10\r\n\r\n"
L4 = "192.0.2.10"
PBX4 = "192.0.2.1"
I4 = "203.0.113.10"
L6 = "2001:db8:1::10"
PBX6 = "2001:db8:1::1"

PACKETS = {
    "v4_udp_sip_lan": ip4(L4, PBX4, 17, udp(5060, 5060, SIP)),
    "v4_udp_sip_internet": ip4(I4, PBX4, 17, udp(5060, 5060, SIP)),
    "v4_udp_rtp": ip4(I4, PBX4, 17, udp(40000, 10000, bytes(172))),
    "v4_tcp_syn_https": ip4(L4, PBX4, 6, tcp(40000, 443)),
    "v4_tcp_ssh_internet": ip4(I4, PBX4, 6, tcp(40000, 22)),
    "v4_tcp_options": ip4(L4, PBX4, 6, tcp(40000, 5061, doff=8, payload=bytes(12))),
    "v4_ip_options": ip4(L4, PBX4, 17, udp(5060, 5060), ihl=6, options=bytes([1, 1, 1, 0])),
    "v4_icmp_echo": ip4(I4, PBX4, 1, icmp(8)),
    "v4_icmp_unreachable": ip4(I4, PBX4, 1, icmp(3, 4)),
    "v4_loopback_mysql": ip4("127.0.0.1", "127.0.0.1", 6, tcp(40000, 3306)),
    "v4_blocked": ip4("203.0.113.200", PBX4, 17, udp(5060, 5060)),
    "v4_gre": ip4(I4, PBX4, 47, bytes(8)),
    "v4_first_fragment": ip4(I4, PBX4, 17, udp(5060, 5060, bytes(64)), frag=0x2000),
    "v4_later_fragment": ip4(I4, PBX4, 17, bytes(64), frag=0x0008),
    "v4_tiny_fragment": ip4(I4, PBX4, 6, bytes(8), frag=0x2000),
    "v4_tcp_offset1_overlap": ip4(I4, PBX4, 6, bytes(16), frag=0x0001),
    "v6_udp_sip": ip6(L6, PBX6, 17, udp(5060, 5060, SIP)),
    "v6_tcp_syn": ip6(L6, PBX6, 6, tcp(40000, 5061)),
    "v6_icmp_echo": ip6("2001:db8:3::10", "2001:db8:3::1", 58, icmp(128)),
    "v6_ndp_solicit": ip6("fe80::1", "ff02::1:ff00:1", 58, icmp(135) + bytes(16)),
    "v6_ext_chain": ip6(L6, PBX6, 0, ext(60) + ext(43) + ext(17) + udp(5060, 5060)),
    "v6_fragment_first": ip6(L6, PBX6, 44, frag6(17, 0, True) + udp(5060, 5060, bytes(32))),
    "v6_fragment_later": ip6(L6, PBX6, 44, frag6(17, 8, False) + bytes(32)),
    "v6_no_next_header": ip6(L6, PBX6, 59, b""),
    "v6_esp": ip6(L6, PBX6, 50, bytes(16)),
    # GRO/GSO super-packets: a zero IP length means "as long as the buffer" for TCP.
    "v4_gso_tcp_total_zero": ip4(I4, PBX4, 6, tcp(40000, 5061, flags=0x10, payload=bytes(200)), total=0),
    "v6_big_tcp_payload_zero": ip6(L6, PBX6, 6, tcp(40000, 5061, flags=0x10, payload=bytes(200)), plen=0),
    "v6_big_tcp_hop_by_hop": ip6(L6, PBX6, 0, ext(6) + tcp(40000, 5061, flags=0x10, payload=bytes(200)), plen=0),
    "bad_udp_total_zero": ip4(I4, PBX4, 17, udp(5060, 5060, SIP), total=0),
    # Malformations, one per parse_error.
    "bad_empty": b"",
    "bad_version": b"\x50" + bytes(39),
    "bad_truncated_v4": ip4(I4, PBX4, 17, udp(5060, 5060))[:12],
    "bad_truncated_v6": ip6(L6, PBX6, 17, udp(5060, 5060))[:30],
    "bad_ihl_small": ip4(I4, PBX4, 17, udp(5060, 5060), ihl=4),
    "bad_ihl_past_end": ip4(I4, PBX4, 17, b"", ihl=15),
    "bad_total_length_long": ip4(I4, PBX4, 17, udp(5060, 5060), total=1500),
    "bad_total_length_short": ip4(I4, PBX4, 17, udp(5060, 5060), total=10),
    "bad_ext_truncated": ip6(L6, PBX6, 0, bytes([17, 4]) + bytes(6)),
    "bad_ext_chain_long": ip6(L6, PBX6, 60, b"".join(ext(60) for _ in range(20)) + ext(17) + udp(1, 5060)),
    "bad_truncated_udp": ip4(I4, PBX4, 17, udp(5060, 5060)[:5]),
    "bad_truncated_tcp": ip4(I4, PBX4, 6, tcp(4000, 5061)[:12]),
    "bad_tcp_offset": ip4(I4, PBX4, 6, tcp(4000, 5061, doff=3)),
    "bad_udp_length_zero": ip4(I4, PBX4, 17, udp(5060, 5060, SIP, length=0)),
    "bad_udp_length_long": ip4(I4, PBX4, 17, udp(5060, 5060, length=4000)),
    "bad_icmp_truncated": ip4(I4, PBX4, 1, b"\x08"),
}

NFQA_PACKET_HDR, NFQA_MARK, NFQA_IFINDEX_INDEV, NFQA_IFINDEX_OUTDEV, NFQA_PAYLOAD, NFQA_CAP_LEN = 1, 3, 4, 5, 10, 19
PACKET_TYPE = (3 << 8) | 0  # NFNL_SUBSYS_QUEUE, NFQNL_MSG_PACKET


def attr(t, data):
    a = struct.pack("=HH", 4 + len(data), t) + data
    return a + bytes((-len(a)) % 4)


def nfq_message(attrs, queue=0, msg_type=PACKET_TYPE, nlmsg_len=None):
    body = struct.pack("=BBH", 2, 0, 0)[:2] + struct.pack("!H", queue) + b"".join(attrs)
    length = 16 + len(body) if nlmsg_len is None else nlmsg_len
    return struct.pack("=IHHII", length, msg_type, 0, 0, 0) + body


def packet_hdr(pid, v6=False, hook=1):
    return struct.pack("!IHB", pid, 0x86DD if v6 else 0x0800, hook)


def be32(v):
    return struct.pack("!I", v)


def queue_messages():
    out = {}
    for i, name in enumerate(["v4_udp_sip_internet", "v4_tcp_syn_https", "v6_udp_sip", "v6_ext_chain",
                              "bad_udp_length_zero", "v4_icmp_echo"]):
        pkt = PACKETS[name]
        v6 = name.startswith("v6")
        out["nfq_" + name] = nfq_message([attr(NFQA_PACKET_HDR, packet_hdr(i + 1, v6)), attr(NFQA_MARK, be32(0)),
                                          attr(NFQA_IFINDEX_INDEV, be32(2)), attr(NFQA_PAYLOAD, pkt)])
    big = ip4(I4, PBX4, 17, udp(5060, 5060, bytes(1400)))
    out["nfq_cut_by_copy_range"] = nfq_message([attr(NFQA_PACKET_HDR, packet_hdr(9)), attr(NFQA_IFINDEX_INDEV, be32(3)),
                                                attr(NFQA_CAP_LEN, be32(len(big))), attr(NFQA_PAYLOAD, big[:512])])
    out["nfq_loopback"] = nfq_message([attr(NFQA_PACKET_HDR, packet_hdr(10)), attr(NFQA_IFINDEX_INDEV, be32(1)),
                                       attr(NFQA_IFINDEX_OUTDEV, be32(1)), attr(NFQA_PAYLOAD, PACKETS["v4_loopback_mysql"])])
    out["nfq_no_payload"] = nfq_message([attr(NFQA_PACKET_HDR, packet_hdr(11))])
    out["nfq_bad_attr_len"] = nfq_message([attr(NFQA_PACKET_HDR, packet_hdr(12)), struct.pack("=HH", 200, NFQA_PAYLOAD)])
    out["nfq_lying_nlmsg_len"] = nfq_message([attr(NFQA_PACKET_HDR, packet_hdr(13))], nlmsg_len=4000)
    out["nfq_error_message"] = struct.pack("=IHHII", 36, 2, 0, 0, 0) + struct.pack("=i", -1) + bytes(16)
    return out


def write_dir(sub, files):
    d = os.path.join(HERE, "corpus", sub)
    os.makedirs(d, exist_ok=True)
    for name, data in files.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


def main():
    write_dir("packet", PACKETS)
    write_dir("queue_message", queue_messages())
    policies = {
        "shipped_freepbx.toml": open(os.path.join(ROOT, "policies/freepbx.toml"), "rb").read(),
        "site_extends.toml": b'extends = "freepbx.toml"\n\n[zones]\nlan = ["192.0.2.0/24", "2001:db8:1::/64"]\n'
                             b'trusted = ["198.51.100.7"]\nblocked = ["203.0.113.200/32"]\n\n'
                             b'[services.sip_udp]\nallow = ["lan", "trusted"]\n\n'
                             b'[services.custom]\nproto = "tcp_udp"\nports = [7000, "7100-7200"]\nallow = ["lan"]\n\n'
                             b'[engine]\nmode = "monitor"\nfail = "closed"\nqueue_maxlen = 64\nplacement = "router"\n'
                             b'protected_addresses = ["192.0.2.1"]\n',
        "site_cycle.toml": b'extends = "fuzz.toml"\n',
        "site_missing.toml": b'extends = "nowhere.toml"\n',
        "site_errors.toml": b'extends = "freepbx.toml"\n[services.sip_udp]\nports = ["9-3", 70000]\nallow = ["mars"]\n'
                            b'[engine]\nqueue_maxlen = 0\nmode = 3\n',
        "site_bad_toml.toml": b'[zones\nlan = [\n',
    }
    for src in ["policies/examples/site.toml", "tests/data/policies/testbed.toml",
                "tests/data/policies/good-site.toml", "tests/data/policies/broken-site.toml"]:
        text = open(os.path.join(ROOT, src), "rb").read()
        # Point their `extends` at the in-memory shipped file the fuzz target provides.
        text = re.sub(rb'(?m)^extends = ".*"$', b'extends = "freepbx.toml"', text)
        policies["shipped_" + os.path.basename(src)] = text
    write_dir("policy", policies)

    asterisk = {
        "includes.conf": b"[general]\n#include a_custom.conf\n#tryinclude b_custom.conf\n#include *_custom.conf\n",
        "templates.conf": b"[t](!)\ntype=transport\nbind=[::]:5061\n[tls](t)\nprotocol=tls\n[tls](+type=transport)\n"
                          b"bind=0.0.0.0\n[u](t,nope)\n",
        "comments.conf": b"\xef\xbb\xbf;------;\n[general] ;-- block\n;-- nested --; --;\nrtpstart=10001\nrtpend => 20000\n"
                         b"allow=ulaw\nallow+=,alaw\nx=a\\;b",
        "general.conf": b"[general]\nbindport=4570\nbindaddr=192.0.2.1\nbindaddr=[2001:db8::1]:4600\nenabled=yes\n"
                        b"tlsenable=yes\ntlsbindaddr=[::]\ntcpenable=yes\nudptlstart=4500\nudptlend=4400\n",
        "errors.conf": b"k=v\n[x\n[y](\n#include\n",
    }
    corpus = os.path.join(ROOT, "tests/data/asterisk-configs")
    for folder in sorted(os.listdir(corpus)):
        path = os.path.join(corpus, folder)
        if not os.path.isdir(path):
            continue
        for name in sorted(os.listdir(path)):
            asterisk[folder + "__" + name] = open(os.path.join(path, name), "rb").read()
    write_dir("asterisk_config", asterisk)


if __name__ == "__main__":
    main()
