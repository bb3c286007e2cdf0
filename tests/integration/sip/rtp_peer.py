#!/usr/bin/env python3
"""RTP endpoints for the media pinhole rig (tests/integration/media_pinholes_e2e.sh, scripts/demo).

  rtp_peer.py echo --ports 10000,10002 --out FILE [--ready FILE] [--max-seconds S]
      The PBX's media side: binds every port (IPv4), counts datagrams per port and source
      address and sends each one back to its source from the port it reached (symmetric
      RTP, as Asterisk does behind NAT), so the caller sees media both ways. Rewrites FILE
      ({"PORT": {"ADDR": n}}) whenever a count changed (at most every 0.1 s) and at exit.
      Stops on SIGTERM or after S seconds (default 120).
  rtp_peer.py stream --src A --sport P --dst B --dport Q --count N [--rate PPS] [--linger S]
      One RTP stream: N G.711 A-law packets (12-byte RTP header, 160-byte payload, one
      SSRC, sequence and timestamp counting up) from A:P to B:Q at PPS (default 50, one
      per 20 ms as a phone sends), then reads echoes for S more seconds (default 0.5).
      Prints {"sent": n, "echoed": m}. Bounded: gives up N/PPS + 10 s after its start.
Only the addresses given are used; every loop is bounded in count and time.
"""
import json
import os
import selectors
import signal
import socket
import struct
import sys
import time


def opts(argv):
    return {argv[i]: argv[i + 1] for i in range(0, len(argv) - 1, 2)}


def write_json(path, value):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(value, f)
    os.replace(tmp, path)  # readers never see half a file


def echo(args):
    ports = [int(p) for p in args["--ports"].split(",") if p]
    out = args["--out"]
    stop_at = time.time() + float(args.get("--max-seconds", "120"))
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    sel = selectors.DefaultSelector()
    for port in ports:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("0.0.0.0", port))
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, port)
    counts = {str(p): {} for p in ports}
    write_json(out, counts)
    if "--ready" in args:
        with open(args["--ready"], "w") as f:
            f.write("ready\n")
    dirty, written = False, time.time()
    while not stopping and time.time() < stop_at:
        for key, _ in sel.select(timeout=0.1):
            for _ in range(64):  # bounded per wake-up
                try:
                    data, peer = key.fileobj.recvfrom(2048)
                except BlockingIOError:
                    break
                per_port = counts[str(key.data)]
                per_port[peer[0]] = per_port.get(peer[0], 0) + 1
                dirty = True
                try:
                    key.fileobj.sendto(data, peer)
                except OSError:
                    pass
        if dirty and time.time() - written >= 0.1:
            write_json(out, counts)
            dirty, written = False, time.time()
    write_json(out, counts)


def stream(args):
    count = int(args["--count"])
    rate = float(args.get("--rate", "50"))
    linger = float(args.get("--linger", "0.5"))
    dst = (args["--dst"], int(args["--dport"]))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((args["--src"], int(args["--sport"])))
    s.setblocking(False)
    ssrc = int.from_bytes(os.urandom(4), "big")
    payload = b"\xd5" * 160  # A-law silence
    start = time.time()
    give_up = start + count / rate + 10
    sent = echoed = 0

    def drain():
        nonlocal echoed
        for _ in range(256):
            try:
                s.recvfrom(2048)
            except (BlockingIOError, ConnectionRefusedError):
                return
            echoed += 1

    while sent < count and time.time() < give_up:
        ahead = start + sent / rate - time.time()
        if ahead > 0:
            time.sleep(ahead)
        # RTP v2, PT 8 (PCMA), marker on the first packet.
        header = struct.pack("!BBHII", 0x80, (0x80 if sent == 0 else 0) | 8, sent & 0xFFFF, (sent * 160) & 0xFFFFFFFF, ssrc)
        try:
            s.sendto(header + payload, dst)
        except OSError:
            pass  # counted by the receiver, not here
        sent += 1
        drain()
    end = time.time() + linger
    while time.time() < end:
        time.sleep(0.05)
        drain()
    s.close()
    json.dump({"sent": sent, "echoed": echoed}, sys.stdout)
    print()


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in ("echo", "stream"):
        sys.exit(__doc__)
    (echo if sys.argv[1] == "echo" else stream)(opts(sys.argv[2:]))


if __name__ == "__main__":
    main()
