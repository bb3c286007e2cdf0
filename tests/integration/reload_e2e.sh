#!/usr/bin/env bash
# Hot reload end to end, on NFQUEUE in the namespace testbed:
#
#  0. A policy directory others can write: the engine refuses to start (StrictModes).
#  1. A steady numbered UDP stream (500 packets/s) from the internet client to udp 40000
#     on the PBX, while the policy file is replaced atomically 100 times, alternately
#     opening and closing 40000 to the internet zone, with one broken file after the 50th.
#     The engine picks every change up through its inotify watcher. Asserted: no packet lost
#     (sent == delivered + dropped by the engine, and the engine accepted exactly what was
#     delivered); every packet's fate matches the generation in force around it (outside
#     the window between a file write and the engine's "generation N in force" log line,
#     exactly that generation's; inside it, the old or the new one, nothing else); the
#     broken file made no generation, was logged with FILE:LINE:COL and counted as a
#     failure. Reload latency, rename -> first packet judged by the new policy: median
#     at most 50 ms (a rename is a complete file, applied at once), median and worst of the
#     100 printed.
#  2. `pbxgate reload`: a good file -> exit 0 naming the new generation, and a changed
#     restart-only key in it (mark_mask) kept at its running value, said once in the engine
#     log and by `pbxgate reload`; a broken file -> exit 1 with FILE:LINE:COL errors,
#     generation unchanged; no engine -> exit 2.
#
# PBXGATE_WATCH_QUIET=MS sets the engine's --watch-quiet (default 200, the shipped default):
# it debounces only writes still in progress, so it does not add to the latency of a rename.
# Exit 0 pass, 1 fail, 77 skipped (not root, outside CI). About 50 s.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/integration/lib.sh
source "$here/lib.sh"
# shellcheck source=scripts/lib/testbed.sh
source "$PBXGATE_SOURCE_DIR/scripts/lib/testbed.sh"
testbed_require_root
require_tools "" iptables-restore ip6tables-restore python3

tag=rl$$
work=$(mktemp -d /tmp/pbxgate-reload-e2e.XXXXXX)
engine_pid=""
receiver_pid=""
cleanup() {
    [ -n "$engine_pid" ] && kill "$engine_pid" 2>/dev/null || true
    [ -n "$receiver_pid" ] && kill "$receiver_pid" 2>/dev/null || true
    testbed_down "$tag"
    if [ "$failures" -eq 0 ] && [ -z "${PBXGATE_KEEP:-}" ]; then rm -rf "$work"; else echo "artifacts kept in $work" >&2; fi
}
trap cleanup EXIT

port=40000
policy=$work/site.toml
pid_file=$work/pbxgate.pid
stream=$here/reload_stream.py

# policy_text ALLOW: the testbed zones, the shipped FreePBX policy, and udp 40000 for ALLOW.
policy_text() {
    cat <<EOF
extends = "$PBXGATE_SOURCE_DIR/policies/freepbx.toml"
[zones]
lan = ["192.0.2.0/24", "2001:db8:1::/64"]
trusted = ["198.51.100.0/24", "2001:db8:2::/64"]
blocked = ["203.0.113.200/32", "2001:db8:3::200/128"]
[services.reload-probe]
proto = "udp"
ports = [$port]
allow = [$1]
EOF
}
policy_text '"lan", "internet"' >"$work/open.toml"
policy_text '"lan"' >"$work/closed.toml"
# Broken twice over: a port out of range and an unknown zone.
sed -e "s/ports = \[$port\]/ports = [70000]/" -e 's/allow = \["lan"\]/allow = ["lan", "galaxy"]/' \
    "$work/closed.toml" >"$work/broken.toml"
cp "$work/closed.toml" "$policy"

# StrictModes: a policy directory its group can write is refused at start, naming it
# (refused while loading the policy, before any queue is bound).
chmod 775 "$work"
status=0
out=$("$PBXGATE" run --policy "$policy" --queue 0 --pid-file "" 2>&1) || status=$?
chmod 700 "$work"
expect_eq "start with a group-writable policy directory: exit" 1 "$status"
expect_contains "start with a group-writable policy directory: why" "$work is writable by its group (mode 0775)" "$out"

testbed_up "$tag"
in_pbx() { ip netns exec "$TB_PBX" "$@"; }
inet_src=$(tb_src inet 4)
pbx_addr=$(tb_pbx inet 4)
# Resolve neighbours before anything is filtered, so no datagram waits on ARP.
ip netns exec "${TB_NS[inet]}" python3 -c 'import socket,sys,time
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.sendto(b"warm-up",(sys.argv[1],9)); time.sleep(0.2)' "$pbx_addr"

# Not through in_pbx: $! must be the process itself (ip netns exec execs in place).
ip netns exec "$TB_PBX" python3 "$stream" receive --port "$port" --out "$work/received" --ready "$work/ready" --max-seconds 150 &
receiver_pid=$!
ip netns exec "$TB_PBX" "$PBXGATE" run --policy "$policy" --queue 0 --pid-file "$pid_file" --stats-file "$work/stats.json" \
    --watch-quiet "${PBXGATE_WATCH_QUIET:-200}" \
    >"$work/engine.log" 2>&1 &
engine_pid=$!
for _ in $(seq 100); do [ -s "$pid_file" ] && [ -s "$work/ready" ] && break; sleep 0.1; done
[ -s "$pid_file" ] || { cat "$work/engine.log" >&2; fail "the engine did not start"; finish; }
[ -s "$work/ready" ] || { fail "the receiver did not start"; finish; }
in_pbx env PBXGATE="$PBXGATE" bash "$PBXGATE_SOURCE_DIR/scripts/pbxgate-rules" apply --policy "$policy" \
    --placement host --queue 0 --fail closed --family ipv4 >/dev/null

# 1. The stream, and the rewrites in the middle of it.
writes=100
interval=0.4
ip netns exec "${TB_NS[inet]}" python3 "$stream" send --src "$inet_src" --dst "$pbx_addr" --port "$port" \
    --interval 0.002 --seconds 80 --stop-file "$work/stop" --out "$work/sent" &
sender_pid=$!
sleep 1
python3 "$stream" rewrite --policy "$policy" --open "$work/open.toml" --closed "$work/closed.toml" \
    --broken "$work/broken.toml" --writes "$writes" --broken-after 50 --interval "$interval" --out "$work/writes"
sleep 1  # traffic judged by the last generation too
touch "$work/stop"
wait "$sender_pid"
sleep 0.5  # the last datagrams reach the receiver
kill -TERM "$receiver_pid"
wait "$receiver_pid" || true
receiver_pid=""

# 2. pbxgate reload, while the engine still runs (no traffic now: the counters stay put).
# Each file written here is a complete file, so the watcher reloads it at once; the script
# waits for that before `pbxgate reload` (as `systemctl reload` after an edit), so the count
# of reloads does not depend on which comes first.
# wait_log PATTERN COUNT: until the engine log has COUNT lines matching PATTERN (5 s at most).
wait_log() {
    for _ in $(seq 50); do [ "$(grep -c -- "$1" "$work/engine.log")" -ge "$2" ] && return 0; sleep 0.1; done
    fail "the engine log has fewer than $2 line(s) matching '$1'"
}
generation_before=$((writes + 1))
kept_line="mark_mask changed: needs a restart; keeping 0x00f00000"
{ cat "$work/open.toml"; printf '[engine]\nmark_mask = "0x0f000000"\n'; } >"$policy.new"
mv "$policy.new" "$policy"
wait_log "generation $((generation_before + 1)) in force" 1
status=0
started=$(date +%s%N)
out=$("$PBXGATE" reload --pid-file "$pid_file" 2>&1) || status=$?
echo "pbxgate reload (SIGHUP, good file): answered in $((($(date +%s%N) - started) / 1000000)) ms: $out"
expect_eq "pbxgate reload of a good file: exit" 0 "$status"
expect_contains "pbxgate reload of a good file" "generation $((generation_before + 2)) in force" "$out"
expect_contains "pbxgate reload: a restart-only key is kept" "$kept_line" "$out"
expect_contains "pbxgate reload: the summary names it" "mark_mask 0x00f00000 -> 0x0f000000 (needs a restart)" "$out"
expect_eq "engine log: one line for the kept key at each of the two reloads" 2 "$(grep -c "\[warning\] $kept_line" "$work/engine.log")"
failures_logged=$(grep -c "reload (file change) refused" "$work/engine.log")
cp "$work/broken.toml" "$policy"
wait_log "reload (file change) refused" $((failures_logged + 1))
status=0
out=$("$PBXGATE" reload --pid-file "$pid_file" 2>&1) || status=$?
expect_eq "pbxgate reload of a broken file: exit" 1 "$status"
expect_contains "pbxgate reload of a broken file: port error" "$policy:8:10: error: port 70000" "$out"
expect_contains "pbxgate reload of a broken file: zone error" "$policy:9:17: error: unknown zone 'galaxy'" "$out"
expect_contains "pbxgate reload of a broken file: generation kept" "generation $((generation_before + 2)) stays in force" "$out"

kill -TERM "$engine_pid"
wait "$engine_pid" || fail "the engine exited non-zero"
engine_pid=""
status=0
out=$("$PBXGATE" reload --pid-file "$pid_file" 2>&1) || status=$?
expect_eq "pbxgate reload with no engine: exit" 2 "$status"
expect_contains "pbxgate reload with no engine" "no engine running" "$out"

stats=$(cat "$work/stats.json")
expect_eq "reloads counted (the stream's, then the watcher's and pbxgate reload's)" "$((writes + 2))" "$(json_get "$stats" reloads)"
expect_eq "refused reloads counted (the stream's broken file, then the watcher's and pbxgate reload's)" 3 "$(json_get "$stats" reload_failures)"
expect_eq "final generation" "$((generation_before + 2))" "$(json_get "$stats" generation)"

# The stream's verdicts (the check prints the latency figures).
if python3 "$stream" check --sent "$work/sent" --received "$work/received" --writes "$work/writes" \
    --engine-log "$work/engine.log" --stats "$work/stats.json" --service reload-probe --zone internet \
    --initial closed --policy "$policy" --max-median-ms 50; then
    pass
else
    fail "the stream check (above)"
fi
finish
