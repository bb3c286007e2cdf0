#!/usr/bin/env python3
"""Real-socket traffic for the end-to-end tests and the demo.

  probe.py serve --tcp 22,80 --udp 5060,10000 [--ready FILE]
      In the PBX namespace: listen on every given port (IPv4 and IPv6). UDP datagrams
      are echoed back from the address they were sent to, TCP connections are accepted and closed. Runs until killed.
  probe.py check < probes.json > results.json
      In a client namespace: run every probe at once (threads) and report which got
      through. A probe is {"id":..., "proto":"udp"|"tcp", "src":ADDR, "dst":ADDR,
      "port":N, "timeout":S, "payload":TEXT (optional, UDP)}. UDP: a datagram with a token, delivered when the echo comes
      back (sent 3 times, 0.3 s apart, to survive neighbour resolution). TCP: connect().
  probe.py send --src A --dst B --port N --count N [--rate PPS] [--payload TEXT]
      A bounded UDP stream: N datagrams "SEQ PAYLOAD" (SEQ from 0), paced at PPS (default
      1000), gives up after N/PPS + 10 s whatever happens. Prints {"sent": n}.
  probe.py count --port N [--ready FILE] [--idle S] [--max-seconds S]
      In the PBX namespace: receive on UDP port N (IPv4 and IPv6) until S seconds pass
      without a datagram after the first (default 1.5) or max-seconds (default 30), then
      print {"received": n, "max_seq": m, "gaps": g} (gaps: sequence numbers below max_seq
      that never arrived).
  probe.py many [--timeout S] NAMESPACE,ID,PROTO,SRC,DST,PORT ...
      Runs the probes, each in its namespace, all at once (check_in_namespaces); prints
      one line "ID delivered|dropped" per probe, sorted by ID.
As a module (import probe): check_in_namespaces({namespace: [probe, ...]}) runs every
namespace's probes at once, each namespace in its own `ip netns exec`, and merges results.
Every loop is bounded in count and time; only the addresses given are used.
"""
import os
import subprocess
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
        # Answer from the address the request was sent to (a host with several addresses
        # on one prefix would otherwise pick its own source, and the answer would not
        # match the asker's conntrack entry), as DNS servers bound to each address do.
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
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
                    data, anc, _, peer = s.recvmsg(2048, socket.CMSG_SPACE(20))
                    reply_from = [(socket.IPPROTO_IPV6, socket.IPV6_PKTINFO, d[:16] + bytes(4))
                                  for level, kind, d in anc
                                  if level == socket.IPPROTO_IPV6 and kind == socket.IPV6_PKTINFO and len(d) >= 16]
                    s.sendmsg([data], reply_from, 0, peer)
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
            # An optional payload first (e.g. a SIP REGISTER line), then a unique token.
            token = (p.get("payload", "") + "probe-%s-%f" % (p["id"], time.time())).encode()
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


def check_in_namespaces(plan, timeout=60):
    """plan: {namespace: [probe, ...]} -> {probe id: {"ok": bool}}, every namespace at once."""
    procs = {}
    for ns, probes in plan.items():
        if not probes:
            continue
        procs[ns] = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, os.path.abspath(__file__), "check"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        procs[ns].stdin.write(json.dumps(probes))
        procs[ns].stdin.close()
    results = {}
    for ns, p in procs.items():
        try:
            out = p.stdout.read()
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            raise
        if p.returncode != 0:
            raise RuntimeError("probe.py check in %s exited %d" % (ns, p.returncode))
        results.update(json.loads(out))
    return results


def send(args):
    count = int(args["--count"])
    rate = float(args.get("--rate", "1000"))
    payload = args.get("--payload", "stream").encode()
    dst = args["--dst"]
    s = socket.socket(family_of(dst), socket.SOCK_DGRAM)
    s.bind((args["--src"], 0))
    start = time.time()
    give_up = start + count / rate + 10
    sent = 0
    while sent < count and time.time() < give_up:
        # Pace against the clock, not per-packet sleeps, so the rate holds on a busy host.
        ahead = start + sent / rate - time.time()
        if ahead > 0:
            time.sleep(ahead)
        try:
            s.sendto(b"%d " % sent + payload, (dst, int(args["--port"])))
        except OSError:
            pass  # a dropped send is the receiver's business to notice
        sent += 1
    s.close()
    json.dump({"sent": sent}, sys.stdout)


def count(args):
    port = int(args["--port"])
    idle = float(args.get("--idle", "1.5"))
    stop_at = time.time() + float(args.get("--max-seconds", "30"))
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)  # the receiver must not be the bottleneck
    s.bind(("::", port))
    if "--ready" in args:
        with open(args["--ready"], "w") as f:
            f.write("ready\n")
    seen = set()
    last = None
    while time.time() < stop_at:
        if last is not None and time.time() - last > idle:
            break
        s.settimeout(0.2)
        try:
            data, _ = s.recvfrom(2048)
        except socket.timeout:
            continue
        last = time.time()
        try:
            seen.add(int(data.split(b" ", 1)[0]))
        except ValueError:
            pass
    max_seq = max(seen) if seen else -1
    json.dump({"received": len(seen), "max_seq": max_seq, "gaps": max_seq + 1 - len(seen)}, sys.stdout)


def many(argv):
    timeout = 1.0
    if argv[:1] == ["--timeout"]:
        timeout, argv = float(argv[1]), argv[2:]
    plan = {}
    for spec in argv:
        ns, pid, proto, src, dst, port = spec.split(",")
        plan.setdefault(ns, []).append({"id": pid, "proto": proto, "src": src, "dst": dst,
                                        "port": int(port), "timeout": timeout})
    results = check_in_namespaces(plan)
    for pid in sorted(results):
        print(pid, "delivered" if results[pid]["ok"] else "dropped")


def main():
    commands = {"serve": serve, "check": lambda _: check(), "send": send, "count": count}
    if len(sys.argv) >= 2 and sys.argv[1] == "many":
        return many(sys.argv[2:])
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    args = {}
    rest = sys.argv[2:]
    for i in range(0, len(rest) - 1, 2):
        args[rest[i]] = rest[i + 1]
    commands[sys.argv[1]](args)


if __name__ == "__main__":
    main()
