#!/usr/bin/env python3
"""Small SIP probes for the protection rig (tests/integration/sip_protect_e2e.sh).

  sip_probe.py options SRC DST [--ua UA] [--within SECONDS]
      Sends an OPTIONS from SRC every 100 ms until one is answered or SECONDS pass.
      Prints the seconds it took ("answered 0.12") or "no answer"; exit 0 / 1.
  sip_probe.py burst SRC DST COUNT
      Sends COUNT OPTIONS from SRC (one new transaction each), 2 ms apart, reads nothing.
"""
import argparse
import random
import socket
import sys
import time


def options(src, dst, ua, seq):
    branch = "z9hG4bK%08x" % random.getrandbits(32)
    return ("OPTIONS sip:%s SIP/2.0\r\n"
            "Via: SIP/2.0/UDP %s:5090;branch=%s\r\n"
            "From: <sip:probe@%s>;tag=%08x\r\n"
            "To: <sip:%s>\r\n"
            "Call-ID: probe-%08x@%s\r\n"
            "CSeq: %d OPTIONS\r\n"
            "Max-Forwards: 70\r\n"
            "User-Agent: %s\r\n"
            "Content-Length: 0\r\n\r\n") % (dst, src, branch, src, random.getrandbits(32), dst,
                                             random.getrandbits(32), src, seq, ua)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["options", "burst"])
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("count", nargs="?", type=int, default=1)
    ap.add_argument("--ua", default="Yealink SIP-T46S 66.86.0.15")
    ap.add_argument("--within", type=float, default=1.0)
    a = ap.parse_args()
    fam = socket.AF_INET6 if ":" in a.src else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind((a.src, 5090))
    if a.mode == "burst":
        for i in range(min(a.count, 100000)):
            s.sendto(options(a.src, a.dst, a.ua, i + 1).encode(), (a.dst, 5060))
            time.sleep(0.002)
        return 0
    start = time.monotonic()
    seq = 0
    s.settimeout(0.1)
    while time.monotonic() - start < a.within:
        seq += 1
        s.sendto(options(a.src, a.dst, a.ua, seq).encode(), (a.dst, 5060))
        try:
            data = s.recv(4096)
            if data.startswith(b"SIP/2.0 "):
                print("answered %.2f" % (time.monotonic() - start))
                return 0
        except socket.timeout:
            pass
    print("no answer")
    return 1


if __name__ == "__main__":
    sys.exit(main())
