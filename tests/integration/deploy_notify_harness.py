#!/usr/bin/env python3
"""Plays systemd for one `pbxgate run` command line: a NOTIFY_SOCKET and a watchdog
(WATCHDOG_USEC), then SIGHUP (reload) and SIGTERM, recording every notification.

  deploy_notify_harness.py SOCKET_PATH LOG -- COMMAND...
HARNESS_RELOAD_CMD (a shell command, e.g. the unit's ExecReload) replaces the SIGHUP.
Prints one JSON object: messages (in order), ready_before_hup, reload_pair (RELOADING=1
then READY=1 after the reload), watchdog_pings, stopping, exit_code, reload_exit, and the
engine's uids and effective capabilities once ready (uid, cap_eff, from /proc). Bounded: at most
~25 s whatever the engine does.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time

sock_path, log_path = sys.argv[1], sys.argv[2]
command = sys.argv[sys.argv.index("--") + 1:]
if os.path.exists(sock_path):
    os.unlink(sock_path)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sock_path)
os.chmod(sock_path, 0o666)  # the engine may run as the unit's User=, and systemd's socket takes anyone
s.settimeout(0.1)
env = dict(os.environ, NOTIFY_SOCKET=sock_path, WATCHDOG_USEC="1500000")
env.pop("WATCHDOG_PID", None)
messages = []


def collect(seconds, until=None):
    end = time.time() + seconds
    while time.time() < end:
        try:
            data = s.recv(4096).decode()
        except socket.timeout:
            continue
        for field in data.split("\n"):
            if field:
                messages.append(field)
        if until and until in data:
            return True
    return False


with open(log_path, "ab") as log:
    p = subprocess.Popen(command, env=env, stdout=log, stderr=log)
    ready = collect(10, "READY=1")
    proc = {}
    try:
        for line in open(f"/proc/{p.pid}/status"):
            key, _, value = line.partition(":")
            proc[key] = value.split()
    except OSError:
        pass
    collect(2)  # watchdog pings and STATUS updates
    pings_before_hup = messages.count("WATCHDOG=1")
    reload_cmd = os.environ.get("HARNESS_RELOAD_CMD")
    start = len(messages)
    reload_exit = None
    if reload_cmd:
        # The unit's ExecReload, run while notifications keep arriving.
        r = subprocess.Popen(reload_cmd, shell=True, stdout=log, stderr=log)
        collect(0.5)
        try:
            reload_exit = r.wait(15)
        except subprocess.TimeoutExpired:
            r.kill()
            reload_exit = "timeout"
    else:
        p.send_signal(signal.SIGHUP)
    collect(5, "READY=1")
    after = messages[start:]
    reload_pair = "RELOADING=1" in after and "READY=1" in after[after.index("RELOADING=1"):] if "RELOADING=1" in after else False
    p.send_signal(signal.SIGTERM)
    try:
        code = p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        code = p.wait()
    collect(0.3)
os.unlink(sock_path)
print(json.dumps({
    "messages": messages,
    "ready_before_hup": ready,
    "watchdog_pings": pings_before_hup,
    "reload_pair": reload_pair,
    "status": [m for m in messages if m.startswith("STATUS=")],
    "stopping": "STOPPING=1" in messages,
    "exit_code": code,
    "reload_exit": reload_exit,
    "uid": " ".join(proc.get("Uid", [])),
    "cap_eff": " ".join(proc.get("CapEff", [])),
}))
