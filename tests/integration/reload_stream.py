#!/usr/bin/env python3
"""Traffic, policy rewrites and the verdict check for tests/integration/reload_e2e.sh.

  reload_stream.py receive --port P --out FILE [--ready FILE] [--max-seconds S]
      In the PBX namespace: record "SEQ TIME" for every datagram received on udp P, until
      SIGTERM or S seconds. Writes FILE on exit.
  reload_stream.py send --src A --dst B --port P --interval S --seconds S --out FILE [--stop-file F]
      In a client namespace: a numbered datagram every S seconds on a fixed schedule
      (for at most --seconds, or until F exists), recording "SEQ TIME" (TIME taken
      before sendto()).
  reload_stream.py rewrite --policy FILE --open TEXT_FILE --closed TEXT_FILE --broken TEXT_FILE
                           --writes N --broken-after K --interval S --out FILE
      Replace the policy file atomically (write a temporary file, rename it over) N times,
      alternating open / closed (starting with open), plus one broken file after the K-th
      good write; records "INDEX KIND TIME" (TIME just before the rename: the engine may
      apply the file before rename() has returned to us).
  reload_stream.py check --sent F --received F --writes F --engine-log F --stats F
                         --service NAME --zone ZONE --initial open|closed --policy FILE
                         [--max-median-ms MS]
      Asserts no loss and that every packet's fate matches the generation in force around
      it; prints the reload latency (rename -> first packet judged by the new policy) and,
      given MS, asserts its median is at most MS. Exit 0 pass, 1 fail.
All loops are bounded in count and time.
"""
import datetime
import json
import os
import re
import signal
import socket
import statistics
import struct
import sys
import time


def opts(argv):
    out = {}
    for i in range(0, len(argv) - 1, 2):
        out[argv[i]] = argv[i + 1]
    return out


def receive(o):
    port = int(o["--port"])
    deadline = time.time() + float(o.get("--max-seconds", "300"))
    got = []

    def stop(*_):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind(("::", port))
    s.settimeout(0.5)
    if "--ready" in o:
        with open(o["--ready"], "w") as f:
            f.write("ready\n")
    try:
        while time.time() < deadline:
            try:
                data = s.recv(64)
            except socket.timeout:
                continue
            if len(data) >= 8:
                got.append((struct.unpack("!Q", data[:8])[0], time.time()))
    finally:
        with open(o["--out"], "w") as f:
            f.writelines(f"{seq} {t:.6f}\n" for seq, t in got)


def send(o):
    interval = float(o["--interval"])
    count = int(float(o["--seconds"]) / interval)
    fam = socket.AF_INET6 if ":" in o["--dst"] else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind((o["--src"], 0))
    dst = (o["--dst"], int(o["--port"]))
    sent = []
    start = time.time()
    stop_file = o.get("--stop-file")
    for seq in range(count):
        if stop_file and seq % 50 == 0 and os.path.exists(stop_file):
            break
        delay = start + seq * interval - time.time()
        if delay > 0:
            time.sleep(delay)
        t = time.time()
        try:
            s.sendto(struct.pack("!Q", seq) + b"pbxgate-reload-e2e", dst)
        except OSError:
            continue  # not sent: not recorded, so not counted as lost
        sent.append((seq, t))
    with open(o["--out"], "w") as f:
        f.writelines(f"{seq} {t:.6f}\n" for seq, t in sent)


def rewrite(o):
    policy = o["--policy"]
    texts = {k: open(o["--" + k]).read() for k in ("open", "closed", "broken")}
    writes, broken_after, interval = int(o["--writes"]), int(o["--broken-after"]), float(o["--interval"])
    plan = []
    for i in range(writes):
        plan.append("open" if i % 2 == 0 else "closed")
        if i + 1 == broken_after:
            plan.append("broken")
    log = []
    last = time.time() - interval
    for i, kind in enumerate(plan):
        # At least `interval` after the previous write, never catching up: two writes closer
        # than the engine's quiet period would rightly make one reload, not two.
        delay = last + interval - time.time()
        if delay > 0:
            time.sleep(delay)
        tmp = policy + ".tmp"
        with open(tmp, "w") as f:
            f.write(texts[kind])
        renamed_at = time.time()
        os.rename(tmp, policy)
        last = time.time()
        log.append((i, kind, renamed_at))
    with open(o["--out"], "w") as f:
        f.writelines(f"{i} {kind} {t:.6f}\n" for i, kind, t in log)


# spdlog's default pattern: "[2026-11-24 03:34:14.123] [info] message" (local time)
LOG_LINE = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3})\] \[(\w+)\] (.*)$")


def engine_events(path):
    events = []
    for line in open(path, errors="replace"):
        m = LOG_LINE.match(line.rstrip("\n"))
        if m:
            t = datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f").timestamp()
            events.append((t, m.group(2), m.group(3)))
    return events


def pairs(path):
    return [(int(a), float(b)) for a, b in (line.split() for line in open(path) if line.strip())]


def check(o):
    failures = []

    def expect(cond, what):
        if not cond:
            failures.append(what)
        return cond

    sent = pairs(o["--sent"])
    received = dict(pairs(o["--received"]))
    writes = [(int(i), k, float(t)) for i, k, t in (line.split() for line in open(o["--writes"]))]
    events = engine_events(o["--engine-log"])
    stats = json.load(open(o["--stats"]))
    service, zone_name = o["--service"], o["--zone"]

    # "reloaded F (why): generation N in force after D ms: summary", logged once published;
    # D is the reload's own duration (load, compile, publish), so the new policy became
    # visible within [logged - D, logged]. The log's timestamps are cut to the millisecond:
    # the true time is up to 1 ms later than logged.
    reloads = []
    for t, lvl, m in events:
        if lvl == "info" and m.startswith("reloaded "):
            g = re.search(r"generation (\d+) in force after ([\d.]+) ms", m)
            reloads.append((t, int(g.group(1)), float(g.group(2)) / 1000.0))
    # The rewrites' reloads: from the first write to 1 s after the last (the shell script
    # waits longer than that before its own `pbxgate reload` checks).
    in_stream = lambda t: writes[0][2] - 0.001 <= t <= writes[-1][2] + 1.0
    refusals = [(t, m) for t, lvl, m in events if lvl == "error" and m.startswith("reload (") and in_stream(t)]
    good = [(k, t) for _, k, t in writes if k != "broken"]
    broken = [t for _, k, t in writes if k == "broken"]

    # 1. Each good write made exactly one new generation; the broken one made none.
    stream_reloads = [r for r in reloads if in_stream(r[0])]
    expect([r[1] for r in stream_reloads] == list(range(2, 2 + len(good))),
           f"generations during the rewrites: expected 2..{1 + len(good)} once each, "
           f"got {[r[1] for r in stream_reloads]}")
    expect(len(refusals) == len(broken), f"expected {len(broken)} refused reload(s), got {len(refusals)}")
    if broken:
        bt = broken[0]
        errors_after = [m for t, lvl, m in events if lvl == "error" and bt - 0.001 <= t <= bt + 2.0]
        expect(any(re.match(re.escape(o["--policy"]) + r":\d+:\d+: error: ", m) for m in errors_after),
               f"no FILE:LINE:COL error logged for the broken file: {errors_after}")
    if failures:
        return report(failures)

    # 2. The state of each generation, and the window where it took over: from the reload's
    # start (logged time - its duration) to its log line, widened by 2 ms on each side for
    # the log's millisecond timestamps. Before the window the old generation alone is in
    # force, after it the new one alone.
    states = [o["--initial"]] + [k for k, _ in good]
    transitions = []  # (window start, window end, old state, new state, file written at)
    for j, ((kind, w), (r, g, dur)) in enumerate(zip(good, stream_reloads)):
        expect(r + 0.001 >= w, f"generation {g} logged before its file was written ({r} < {w})")
        transitions.append((max(w, r - dur - 0.002), r + 0.002, states[j], kind, w))
    for a, b in zip(transitions, transitions[1:]):
        expect(a[1] < b[4], f"a reload took longer than the rewrite interval (published {a[1]}, next write {b[4]})")

    # 3. Every packet: delivered or counted as dropped; its fate matches the policy in force.
    delivered = sum(1 for seq, _ in sent if seq in received)
    cell = stats.get("by_service", {}).get(service, {}).get(zone_name, {})
    engine_accept, engine_drop = cell.get("accept", 0), cell.get("drop", 0)
    expect(len(sent) == delivered + engine_drop,
           f"loss: sent {len(sent)} != delivered {delivered} + dropped by the engine {engine_drop}")
    expect(engine_accept == delivered, f"engine accepted {engine_accept} but {delivered} were delivered")
    expect(not [seq for seq in received if seq not in dict(sent)], "received a sequence number never sent")
    for q in stats.get("queues", []):
        expect(q.get("kernel_queue_dropped", 0) == 0 and q.get("kernel_user_dropped", 0) == 0,
               f"the kernel dropped packets on queue {q.get('queue')}: {q}")

    # A packet is judged when the worker reads it, a little after its send time: one sent just
    # before a write can still be in flight (socket, queue, a descheduled worker) when the
    # new policy is published, and is then rightly judged by it. What must hold is that
    # generations only advance: between the end of one transition window and the end of the
    # next, the fates in send order are the old state's, then the new state's, one switch at
    # most; after a window's end (the new generation logged), only the new state's.
    wrong, either, strict, in_flight = [], 0, {"open": 0, "closed": 0}, 0
    ti = 0
    switched = False  # in the current segment, a packet was already judged by the new state
    for seq, t in sent:
        while ti < len(transitions) and t > transitions[ti][1]:
            ti += 1
            switched = False
        fate = "open" if seq in received else "closed"
        if ti == len(transitions):
            allowed = {states[ti]}  # after the last transition
            strict[states[ti]] += 1
        else:
            old, new = transitions[ti][2], transitions[ti][3]
            if t >= transitions[ti][0]:
                either += 1  # written, not yet known to be published: old or new
            else:
                strict[old] += 1
            allowed = {new} if switched else {old, new}
            if fate == new:
                if t < transitions[ti][0]:
                    in_flight += 1
                switched = True
        if fate not in allowed:
            wrong.append((seq, t, fate, sorted(allowed)))
    expect(not wrong, f"{len(wrong)} packet(s) judged by neither the old nor the new policy, or by the old one "
                      f"after the new one, first: {wrong[:5]}")
    expect(strict["open"] > 1000 and strict["closed"] > 1000, f"too few packets outside transitions: {strict}")

    # 4. Reload latency: file write -> first packet judged by the new policy.
    latency, publish = [], []
    send_times = [t for _, t in sent]
    for (_, r, old, new, w) in transitions:
        publish.append(max(0.0, r + 0.0005 - w))
        first = next(((seq, t) for seq, t in sent if t >= w and ("open" if seq in received else "closed") == new), None)
        if expect(first is not None, f"no packet judged by the policy written at {w}"):
            latency.append(first[1] - w)
    if broken:
        bt = broken[0]
        nxt = min((w for _, w in good if w > bt), default=bt + 1.0)
        n = sum(1 for t in send_times if bt <= t < nxt)
        print(f"broken file: refused, {n} packets sent while it was on disk, all judged by the previous generation")

    ms = lambda xs: f"median {statistics.median(xs) * 1000:.1f} ms, worst {max(xs) * 1000:.1f} ms"
    print(f"packets: sent {len(sent)}, delivered {delivered}, dropped by the engine {engine_drop}, "
          f"lost {len(sent) - delivered - engine_drop}; {strict['open'] + strict['closed']} judged strictly, "
          f"{either} in transition windows (either generation allowed); {in_flight} sent before a write but "
          f"judged after its publish (in flight)")
    if latency:
        print(f"reload latency over {len(latency)} reloads (file write -> first packet judged by the new policy): "
              f"{ms(latency)}")
        print(f"  of which file write -> generation published (engine log, 1 ms resolution): {ms(publish)}")
        if "--max-median-ms" in o:
            limit = float(o["--max-median-ms"])
            median = statistics.median(latency) * 1000
            expect(median <= limit, f"reload latency median {median:.1f} ms is above {limit:g} ms")
    return report(failures)


def report(failures):
    for f in failures:
        print("FAIL: " + f, file=sys.stderr)
    return 1 if failures else 0


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    o = opts(sys.argv[2:])
    cmd = {"receive": receive, "send": send, "rewrite": rewrite, "check": check}.get(sys.argv[1])
    if cmd is None:
        print(__doc__, file=sys.stderr)
        return 2
    return cmd(o) or 0


if __name__ == "__main__":
    sys.exit(main())
