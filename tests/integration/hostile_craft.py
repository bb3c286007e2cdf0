#!/usr/bin/env python3
"""Hostile traffic for tests/integration/hostile_traffic.sh, from a client namespace.

  hostile_craft.py malformed IFACE DST_MAC SRC4 DST4 SRC6 DST6 REPS
      Ethernet frames written with an AF_PACKET socket, so every header byte is ours (an
      IP_HDRINCL socket would fix the IPv4 total length for us). Prints one JSON object:
      {kind: {"reaches_engine": bool, "sent": n}} -- reaches_engine False for the kinds the
      receiving kernel must discard before netfilter sees them (bad IHL, length lies,
      truncated IP headers, overlapping fragments, which defragmentation discards).
  hostile_craft.py sweep DST FIRST LAST RATE
      A SIP scanner: one OPTIONS request to every UDP port FIRST..LAST at RATE packets/s.
  hostile_craft.py burst DST PORT COUNT SIZE
      COUNT datagrams of SIZE bytes to DST:PORT as fast as the socket takes them.
  hostile_craft.py flood SRC DST PORT SECONDS MAX
      Datagrams from SRC to DST:PORT as fast as the socket takes them, for SECONDS or MAX
      datagrams, whichever ends first. Prints {"sent": n}.
  hostile_craft.py connects SRC DST PORT SECONDS
      TCP connections to DST:PORT one after the other (0.2 s timeout each) for SECONDS.
      Prints {"tried": n, "connected": m}.
  hostile_craft.py listen PORTS SECONDS READY_FILE
      In the PBX namespace: count the datagrams each UDP port (comma list) receives for
      SECONDS (IPv4 and IPv6), then print {port: count} as JSON.
Only the addresses given are used; every loop is bounded by its count.
"""
import ipaddress
import json
import socket
import struct
import sys
import time

SIP = b"OPTIONS sip:100@pbx SIP/2.0\r\nVia: SIP/2.0/UDP scanner\r\nMax-Forwards: 70\r\n\r\n"


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip4(src, dst, proto, body, ihl=5, total=None, frag=0, ident=1, cut=None):
    total = 20 + len(body) if total is None else total
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, total & 0xFFFF, ident, frag, 64, proto, 0,
                    ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(dst).packed)
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    pkt = h + body
    return pkt if cut is None else pkt[:cut]


def ip6(src, dst, nxt, body, plen=None):
    plen = len(body) if plen is None else plen
    return struct.pack("!IHBB16s16s", 0x60000000, plen, nxt, 64, ipaddress.IPv6Address(src).packed,
                       ipaddress.IPv6Address(dst).packed) + body


def udp(sport, dport, payload=b"", length=None):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload) if length is None else length, 0) + payload


def tcp(sport, dport, doff=5):
    return struct.pack("!HHIIBBHHH", sport, dport, 1, 0, doff << 4, 0x02, 65535, 0, 0) + bytes(max(0, doff - 5) * 4)


def opts(nxt, size=8):  # destination options header, padded with PadN
    return bytes([nxt, size // 8 - 1, 1, size - 4]) + bytes(size - 4)


def malformed_kinds(s4, d4, s6, d6):
    """(name, ethertype, packet, reaches_engine)"""
    v4, v6 = 0x0800, 0x86DD
    return [
        # The receiving kernel discards these in ip_rcv/ipv6_rcv, before any netfilter hook.
        ("v4_truncated_header", v4, ip4(s4, d4, 17, udp(1, 5060), cut=14), False),
        ("v4_ihl_below_5", v4, ip4(s4, d4, 17, udp(1, 5060), ihl=3), False),
        ("v4_ihl_past_end", v4, ip4(s4, d4, 17, b"", ihl=15), False),
        ("v4_total_length_too_long", v4, ip4(s4, d4, 17, udp(1, 5060, SIP), total=1400), False),
        ("v4_total_length_below_header", v4, ip4(s4, d4, 17, udp(1, 5060), total=12), False),
        ("v6_truncated_header", v6, ip6(s6, d6, 17, udp(1, 5060))[:30], False),
        ("v6_payload_length_too_long", v6, ip6(s6, d6, 17, udp(1, 5060), plen=900), False),
        # These pass the IP layer and reach the INPUT hook, hence the engine: malformed.
        ("v4_udp_truncated", v4, ip4(s4, d4, 17, udp(1, 5060)[:6]), True),
        ("v4_udp_zero_length", v4, ip4(s4, d4, 17, udp(1, 5060, SIP, length=0)), True),
        ("v4_udp_length_too_long", v4, ip4(s4, d4, 17, udp(1, 5060, b"x", length=600)), True),
        ("v4_tcp_truncated", v4, ip4(s4, d4, 6, tcp(1, 5061)[:12]), True),
        ("v4_tcp_offset_below_5", v4, ip4(s4, d4, 6, tcp(1, 5061, doff=2)), True),
        ("v4_icmp_truncated", v4, ip4(s4, d4, 1, b"\x08"), True),
        ("v6_udp_truncated", v6, ip6(s6, d6, 17, udp(1, 5060)[:4]), True),
        ("v6_udp_zero_length", v6, ip6(s6, d6, 17, udp(1, 5060, SIP, length=0)), True),
        ("v6_tcp_truncated", v6, ip6(s6, d6, 6, tcp(1, 5061)[:10]), True),
        ("v6_ext_header_truncated", v6, ip6(s6, d6, 60, bytes([17, 3]) + bytes(6)), True),
        ("v6_ext_chain_too_long", v6, ip6(s6, d6, 60, b"".join(opts(60) for _ in range(40)) + opts(17) + udp(1, 5060)), True),
    ]


def frag_kinds(s4, d4):
    """Overlapping IPv4 fragments (a datagram to UDP 5060 in two pieces that overlap):
    reassembly discards the whole datagram. Returns a list of (name, [packets], reaches)."""
    data = udp(40000, 5060, SIP + bytes(64))
    first = ip4(s4, d4, 17, data[:48], frag=0x2000, ident=0x4242)       # offset 0, MF
    overlap = ip4(s4, d4, 17, data[32:], frag=32 // 8, ident=0x4242)    # offset 32 < 48
    return [("v4_overlapping_fragments", [first, overlap], False)]


def cmd_malformed(iface, dst_mac, s4, d4, s6, d6, reps):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    src_mac = s.getsockname()[4]
    dmac = bytes.fromhex(dst_mac.replace(":", ""))
    out = {}
    kinds = [(n, et, [p], r) for n, et, p, r in malformed_kinds(s4, d4, s6, d6) if r is not None]
    kinds += [(n, 0x0800, ps, r) for n, ps, r in frag_kinds(s4, d4)]
    for name, ethertype, packets, reaches in kinds:
        for i in range(reps):
            for p in packets:
                s.send(dmac + src_mac + struct.pack("!H", ethertype) + p)
            if i % 50 == 49:
                time.sleep(0.005)  # a flood, but one the veth backlog holds
        out[name] = {"reaches_engine": reaches, "sent": reps}
    print(json.dumps(out))


def cmd_sweep(dst, first, last, rate):
    fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    start = time.time()
    for n, port in enumerate(range(first, last + 1)):
        try:
            s.sendto(SIP, (dst, port))
        except OSError:  # an ICMP unreachable reported on the socket: a scanner ignores it
            pass
        ahead = n / rate - (time.time() - start)
        if ahead > 0.002:
            time.sleep(ahead)
    print(json.dumps({"sent": last - first + 1, "seconds": round(time.time() - start, 2)}))


def cmd_burst(dst, port, count, size):
    fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    payload = bytes(size)
    sent = 0
    for _ in range(count):
        try:
            s.sendto(payload, (dst, port))
            sent += 1
        except OSError:
            time.sleep(0.001)  # the local queue is full: a real flood would lose it too
    print(json.dumps({"sent": sent}))


def cmd_flood(src, dst, port, seconds, most):
    fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    s.bind((src, 0))
    payload = bytes(32)
    sent = 0
    end = time.time() + seconds
    while sent < most and time.time() < end:
        for _ in range(min(64, most - sent)):
            try:
                s.sendto(payload, (dst, port))
                sent += 1
            except OSError:
                time.sleep(0.001)
                break
    print(json.dumps({"sent": sent}))


def cmd_connects(src, dst, port, seconds):
    fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
    tried = connected = 0
    end = time.time() + seconds
    while time.time() < end and tried < 100000:
        c = socket.socket(fam, socket.SOCK_STREAM)
        c.bind((src, 0))
        c.settimeout(0.2)
        tried += 1
        try:
            c.connect((dst, port))
            connected += 1
        except OSError:
            pass
        finally:
            c.close()
    print(json.dumps({"tried": tried, "connected": connected}))


def cmd_listen(ports, seconds, ready):
    import selectors
    sel = selectors.DefaultSelector()
    counts = {}
    for port in ports:
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        try:  # room for a whole burst: a count lost in our own socket would lie
            s.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)  # SO_RCVBUFFORCE
        except OSError:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        s.bind(("::", port))
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, port)
        counts[port] = 0
    with open(ready, "w") as f:
        f.write("ready\n")
    deadline = time.time() + seconds
    while time.time() < deadline:
        for key, _ in sel.select(timeout=max(0.01, min(0.2, deadline - time.time()))):
            for _ in range(1000):
                try:
                    key.fileobj.recv(2048)
                except (BlockingIOError, OSError):
                    break
                counts[key.data] += 1
    print(json.dumps(counts))


def main():
    a = sys.argv[1:]
    if a[:1] == ["malformed"] and len(a) == 8:
        cmd_malformed(a[1], a[2], a[3], a[4], a[5], a[6], int(a[7]))
    elif a[:1] == ["sweep"] and len(a) == 5:
        cmd_sweep(a[1], int(a[2]), int(a[3]), float(a[4]))
    elif a[:1] == ["burst"] and len(a) == 5:
        cmd_burst(a[1], int(a[2]), int(a[3]), int(a[4]))
    elif a[:1] == ["flood"] and len(a) == 6:
        cmd_flood(a[1], a[2], int(a[3]), float(a[4]), int(a[5]))
    elif a[:1] == ["connects"] and len(a) == 5:
        cmd_connects(a[1], a[2], int(a[3]), float(a[4]))
    elif a[:1] == ["listen"] and len(a) == 4:
        cmd_listen([int(p) for p in a[1].split(",")], float(a[2]), a[3])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
