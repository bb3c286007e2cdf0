#!/usr/bin/env python3
"""Real-socket traffic for the end-to-end tests and the demo.

  probe.py serve --tcp 22,80 --udp 5060,10000 [--ready FILE]
      In the PBX namespace: listen on every given port (IPv4 and IPv6). UDP datagrams
      are echoed back, TCP connections are accepted and closed. Runs until killed.
  probe.py check < probes.json > results.json
      In a client namespace: run every probe at once (threads) and report which got
      through. A probe is {"id":..., "proto":"udp"|"tcp", "src":ADDR, "dst":ADDR,
      "port":N, "timeout":S}. UDP: a datagram with a token, delivered when the echo comes
      back (sent 3 times, 0.3 s apart, to survive neighbour resolution). TCP: connect().
Every loop is bounded in count and time; only the addresses given are used.
"""
import json
import selectors
import socket
import sys
import threading
import time


def parse_ports(text):
    ports = []
    for part in filter(None, text.split(",")):
        if "-" in part:
            lo, hi = part.split("-")
            ports.extend(range(int(lo), int(hi) + 1))
        else:
            ports.append(int(part))
    return ports


def serve(args):
    tcp = parse_ports(args.get("--tcp", ""))
    udp = parse_ports(args.get("--udp", ""))
    sel = selectors.DefaultSelector()
    for port in tcp:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("::", port))
        s.listen(128)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, "tcp")
    for port in udp:
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.bind(("::", port))
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, "udp")
    if "--ready" in args:
        with open(args["--ready"], "w") as f:
            f.write("ready\n")
    while True:
        for key, _ in sel.select(timeout=1.0):
            s = key.fileobj
            try:
                if key.data == "tcp":
                    conn, _ = s.accept()
                    conn.close()
                else:
                    data, peer = s.recvfrom(2048)
                    s.sendto(data, peer)
            except OSError:
                pass


def family_of(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def run_probe(p, results):
    fam = family_of(p["dst"])
    timeout = float(p.get("timeout", 1.5))
    ok = False
    try:
        if p["proto"] == "tcp":
            s = socket.socket(fam, socket.SOCK_STREAM)
            s.bind((p["src"], 0))
            s.settimeout(timeout)
            try:
                s.connect((p["dst"], p["port"]))
                ok = True
            except (socket.timeout, ConnectionRefusedError, OSError):
                ok = False
            finally:
                s.close()
        else:
            s = socket.socket(fam, socket.SOCK_DGRAM)
            s.bind((p["src"], 0))
            token = ("probe-%s-%f" % (p["id"], time.time())).encode()
            deadline = time.time() + timeout
            sends = 0
            while time.time() < deadline and not ok:
                if sends < 3:
                    s.sendto(token, (p["dst"], p["port"]))
                    sends += 1
                s.settimeout(max(0.01, min(0.3, deadline - time.time())))
                try:
                    data, _ = s.recvfrom(2048)
                    ok = data == token
                except socket.timeout:
                    pass
            s.close()
    except OSError as e:
        results[p["id"]] = {"ok": False, "error": str(e)}
        return
    results[p["id"]] = {"ok": ok}


def check():
    probes = json.load(sys.stdin)
    results = {}
    threads = [threading.Thread(target=run_probe, args=(p, results)) for p in probes]
    # Bounded parallelism: a few hundred sockets at most at once.
    for i in range(0, len(threads), 200):
        batch = threads[i:i + 200]
        for t in batch:
            t.start()
        for t in batch:
            t.join(30)
    json.dump(results, sys.stdout)


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in ("serve", "check"):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    args = {}
    rest = sys.argv[2:]
    for i in range(0, len(rest) - 1, 2):
        args[rest[i]] = rest[i + 1]
    serve(args) if sys.argv[1] == "serve" else check()


if __name__ == "__main__":
    main()
