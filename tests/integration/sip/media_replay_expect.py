#!/usr/bin/env python3
"""What `pbxgate replay --pbx` should say about a capture's media, worked out without pbxgate
(tests/integration/media_replay_cli.sh), then compared with its per-packet rows.

  tcpdump -# -n -v -r CAPTURE | media_replay_expect.py --pbx ADDR[,ADDR] --ports 2006,10000-20000
      [--lan PREFIX,...] [--pinhole PORTS@ADDR,...[;PORTS@ADDR,...]] --per-packet ROWS.jsonl

Reads tcpdump's verbose text (frame number, then the IP header with its protocol, then the
addresses) on stdin. A UDP packet not from a --pbx address, to one of --ports (the negotiated media
services' ports) from outside --lan (the zones whose media stays open) is media to judge:
it is expected accepted with reason "pinhole" when its destination port and source match
one --pinhole (ports of the PBX's SDP, the address of the remote's c= or its signalling
peer: what the capture's SDP says), else dropped with reason "no_pinhole". Prints JSON:
  expected_pinhole / expected_no_pinhole: packets of each kind
  pinhole_ok / no_pinhole_ok: of those, rows with that verdict and reason
  other_no_pinhole: rows saying no_pinhole for a packet not expected so (must be 0)
  other_pinhole: rows saying pinhole for a packet not expected so (must be 0)
"""
import ipaddress
import json
import re
import sys

HEADER = re.compile(r"^\s*(\d+)\s+\S+\s+IP \(.*proto (\w+) \(\d+\)")
ADDRS = re.compile(r"^\s+(\d+\.\d+\.\d+\.\d+)\.(\d+) > (\d+\.\d+\.\d+\.\d+)\.(\d+):")


def port_set(text):
    ports = set()
    for part in filter(None, text.split(",")):
        lo, _, hi = part.partition("-")
        ports.update(range(int(lo), int(hi or lo) + 1))
    return ports


def main():
    a = {sys.argv[i]: sys.argv[i + 1] for i in range(1, len(sys.argv) - 1, 2)}
    pbx = set(a["--pbx"].split(","))
    ports = port_set(a["--ports"])
    lan = [ipaddress.ip_network(p) for p in filter(None, a.get("--lan", "").split(","))]
    pinholes = []  # (ports, sources)
    for spec in filter(None, a.get("--pinhole", "").split(";")):
        p, _, srcs = spec.partition("@")
        pinholes.append((port_set(p), set(srcs.split(","))))
    expected = {}  # frame index (0-based) -> "pinhole" | "no_pinhole"
    frame = proto = None
    for line in sys.stdin:
        m = HEADER.match(line)
        if m:
            frame, proto = int(m.group(1)) - 1, m.group(2)
            continue
        m = ADDRS.match(line)
        if not m or frame is None or proto != "UDP":
            continue
        src, dst_port = m.group(1), int(m.group(4))
        frame_now, frame = frame, None
        if src in pbx or dst_port not in ports or any(ipaddress.ip_address(src) in n for n in lan):
            continue
        hit = any(dst_port in p and src in s for p, s in pinholes)
        expected[frame_now] = "pinhole" if hit else "no_pinhole"
    rows = {}
    with open(a["--per-packet"]) as f:
        for line in f:
            r = json.loads(line)
            rows[r["index"]] = (r["verdict"], r["reason"])
    out = {"expected_pinhole": 0, "expected_no_pinhole": 0, "pinhole_ok": 0, "no_pinhole_ok": 0,
           "other_no_pinhole": 0, "other_pinhole": 0}
    for idx, kind in expected.items():
        out["expected_" + kind] += 1
        want = ("accept", "pinhole") if kind == "pinhole" else ("drop", "no_pinhole")
        out[kind + "_ok"] += rows.get(idx) == want
    for idx, (_, reason) in rows.items():
        if reason in ("pinhole", "no_pinhole") and expected.get(idx) != reason:
            out["other_" + reason] += 1
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
