#!/usr/bin/env python3
"""UDP traffic for the blocklist test (tests/integration/blocklist_feeds.sh). Bounded in time.

  stream SRC DST PORT SECONDS RATE   send "SEQ" datagrams from SRC at RATE per second
  listen PORT SECONDS READY           count datagrams per source; prints JSON:
                                      {src: {"count", "first", "last", "max_gap_ms"}}
Times are time.time() (the namespaces share the host's clock).
"""
import json
import socket
import sys
import time


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def stream(src, dst, port, seconds, rate):
    s = socket.socket(family(src), socket.SOCK_DGRAM)
    s.bind((src, 0))
    interval = 1.0 / rate
    start = time.time()
    n = 0
    while time.time() - start < min(seconds, 30):
        try:
            s.sendto(b"%d" % n, (dst, port))
        except OSError:
            pass
        n += 1
        next_at = start + n * interval
        delay = next_at - time.time()
        if delay > 0:
            time.sleep(delay)
    print(n)


def listen(port, seconds, ready):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind(("::", port))
    s.settimeout(0.05)
    with open(ready, "w") as f:
        f.write("ready\n")
    seen = {}
    deadline = time.time() + min(seconds, 60)
    while time.time() < deadline:
        try:
            _, peer = s.recvfrom(2048)
        except socket.timeout:
            continue
        now = time.time()
        src = peer[0].removeprefix("::ffff:")
        r = seen.setdefault(src, {"count": 0, "first": now, "last": now, "max_gap_ms": 0.0})
        r["max_gap_ms"] = max(r["max_gap_ms"], (now - r["last"]) * 1000.0)
        r["count"] += 1
        r["last"] = now
    print(json.dumps(seen))


def main():
    a = sys.argv[1:]
    if a[0] == "stream":
        stream(a[1], a[2], int(a[3]), float(a[4]), float(a[5]))
    elif a[0] == "listen":
        listen(int(a[1]), float(a[2]), a[3])
    else:
        sys.exit("usage: see the docstring")


if __name__ == "__main__":
    main()
