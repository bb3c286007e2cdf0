#!/usr/bin/env bash
# Hostile traffic through the running engine, in the namespace testbed (scripts/lib/testbed.sh):
#  1. a flood of malformed packets (truncated IPv4/IPv6/TCP/UDP/ICMP headers, bad IHL,
#     total-length lies, IPv6 extension-header chains, overlapping fragments, zero-length
#     UDP), written byte by byte on the wire: the kinds the kernel lets through to the
#     INPUT hook are each dropped by the engine with reason malformed (exact count), none
#     is accepted, the kinds the kernel's IP layer discards never reach the engine;
#  2. a SIP scanner sweeping all 65535 UDP ports (bounded rate): every packet gets a
#     verdict, exactly the ports the shipped policy opens to the internet are accepted
#     (counted against an independent reading of policies/freepbx.toml), and of the
#     ports we listen on only the open ones receive;
#  3. a queue overflow: queue_maxlen 64, the engine stopped (SIGSTOP) while 2000 datagrams
#     arrive for a port the internet may not reach: with the default overflow = "drop" the
#     kernel drops the overflow and counts it, in fail open as in fail closed (fail open is
#     about an absent engine only); overflow = "accept" lets it through unjudged;
#  4. a flood at a closed port from the internet while the queue overflows (engine frozen
#     2 s, fail open, default overflow): SSH from the internet stays unreachable throughout,
#     and an established offloaded RTP flow keeps flowing without a loss.
# Throughout: the engine stays up, its RSS stays flat, well-formed probes keep their verdicts.
source "$(dirname "$0")/lib.sh"
source "$PBXGATE_SOURCE_DIR/scripts/lib/testbed.sh"
testbed_require_root
here=$PBXGATE_SOURCE_DIR/tests/integration
craft=$here/hostile_craft.py
tag=hx$$
tmp=$(mktemp -d /tmp/pbxgate-hostile.XXXXXX)
engine_pid=
helper_pids=()
cleanup() {
  local rc=$? p
  set +e
  for p in $engine_pid "${helper_pids[@]}"; do kill -CONT "$p" 2>/dev/null; kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  testbed_down "$tag"
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
testbed_up "$tag"
pbx=$TB_PBX
inet=${TB_NS[inet]}
lan=${TB_NS[lan]}

# wait_for SECONDS COMMAND...: bounded polling.
wait_for() {
  local i
  for ((i = 0; i < $1 * 20; i++)); do "${@:2}" && return 0; sleep 0.05; done
  return 1
}
# start_engine POLICY FAIL: steering rules and the engine in the PBX namespace.
start_engine() {
  ip netns exec "$pbx" env PBXGATE="$PBXGATE" bash "$PBXGATE_SOURCE_DIR/scripts/pbxgate-rules" apply \
    --policy "$1" --placement host --queue 0 --fail "$2" 2>/dev/null
  rm -f "$tmp/stats.json"
  ip netns exec "$pbx" "$PBXGATE" run --policy "$1" --queue 0 --fail "$2" --stats-file "$tmp/stats.json" \
    >>"$tmp/engine.log" 2>&1 &
  engine_pid=$!
  wait_for 10 grep -qs "queue(s) bound" "$tmp/engine.log" || { cat "$tmp/engine.log" >&2; fail "engine did not start"; exit 1; }
}
stop_engine() {
  kill -TERM "$engine_pid"
  wait "$engine_pid" || fail "engine exited non-zero on SIGTERM"
  engine_pid=
}
# stats: a fresh statistics report (SIGUSR1), as JSON on stdout.
stats() {
  local before
  before=$(stat -c %Y.%Z "$tmp/stats.json" 2>/dev/null || echo none)
  rm -f "$tmp/stats.json"
  kill -USR1 "$engine_pid"
  wait_for 5 test -s "$tmp/stats.json" || { fail "no stats report"; echo '{}'; return; }
  cat "$tmp/stats.json"
}
counter() { json_get "$1" "${@:2}" 2>/dev/null || echo 0; }  # missing key (zero count) -> 0
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$engine_pid/status"; }
alive() { kill -0 "$engine_pid" 2>/dev/null && ! grep -q '^State:.*zombie' "/proc/$engine_pid/status"; }

# Well-formed probes and the verdicts the shipped policy gives them (from the port doc).
probe_plan='[
 {"id":"lan-sip4","proto":"udp","src":"192.0.2.10","dst":"192.0.2.1","port":5060,"timeout":1.5},
 {"id":"lan-ssh4","proto":"tcp","src":"192.0.2.10","dst":"192.0.2.1","port":22,"timeout":1.5},
 {"id":"lan-iax6","proto":"udp","src":"2001:db8:1::10","dst":"2001:db8:1::1","port":4569,"timeout":1.5}]'
probe_plan_inet='[
 {"id":"inet-sip4","proto":"udp","src":"203.0.113.10","dst":"203.0.113.1","port":5060,"timeout":1.5},
 {"id":"inet-sip6","proto":"udp","src":"2001:db8:3::10","dst":"2001:db8:3::1","port":5060,"timeout":1.5},
 {"id":"inet-ssh4","proto":"tcp","src":"203.0.113.10","dst":"203.0.113.1","port":22,"timeout":1.5},
 {"id":"inet-iax4","proto":"udp","src":"203.0.113.10","dst":"203.0.113.1","port":4569,"timeout":1.5},
 {"id":"blocked-sip4","proto":"udp","src":"203.0.113.200","dst":"203.0.113.1","port":5060,"timeout":1.5}]'
expected_probes='{"lan-sip4":true,"lan-ssh4":true,"lan-iax6":true,"inet-sip4":true,"inet-sip6":true,"inet-ssh4":false,"inet-iax4":false,"blocked-sip4":false}'
check_probes() {
  local when=$1 got
  got=$(python3 - "$expected_probes" \
    <(ip netns exec "$lan" python3 "$here/probe.py" check <<<"$probe_plan") \
    <(ip netns exec "$inet" python3 "$here/probe.py" check <<<"$probe_plan_inet") <<'PY'
import json, sys
exp = json.loads(sys.argv[1]); got = {}
for f in sys.argv[2:]: got.update({k: v["ok"] for k, v in json.load(open(f)).items()})
bad = ["%s: expected %s, got %s" % (k, exp[k], got.get(k)) for k in sorted(exp) if got.get(k) != exp[k]]
print("; ".join(bad) or "ok")
PY
)
  expect_eq "well-formed probes $when" ok "$got"
}

ip netns exec "$pbx" python3 "$here/probe.py" serve --tcp 22 --udp 5060,4569 --ready "$tmp/serve.ready" &
helper_pids+=($!)
wait_for 10 test -f "$tmp/serve.ready" || { fail "probe server did not start"; exit 1; }

policy=$PBXGATE_SOURCE_DIR/tests/data/policies/testbed-media-open.toml
start_engine "$policy" open
check_probes "before the flood"
rss_before=$(rss_kb)

# 1. Malformed flood from the internet client, straight onto the PBX's veth.
reps=200
pbx_mac=$(ip -n "$pbx" -j link show inet0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')
# The PBX kernel's own count of IP headers it discarded (IPv4 and IPv6 header errors
# and truncated packets), to show the other kinds arrived and were refused there.
ip_discards() {
  ip netns exec "$pbx" python3 -c 'import re
want = {"Ip:InHdrErrors", "IpExt:InTruncatedPkts", "Ip6InHdrErrors", "Ip6InTruncatedPkts"}
n = 0
for f in ("/proc/net/snmp", "/proc/net/netstat"):
    lines = open(f).read().splitlines()
    for keys, vals in zip(lines[::2], lines[1::2]):
        k, v = keys.split(), vals.split()
        n += sum(int(b) for a, b in zip(k[1:], v[1:]) if k[0] + a in want)
for line in open("/proc/net/snmp6"):
    k, v = line.split()
    n += int(v) if k in want else 0
print(n)'
}
s0=$(stats)
x0=$(ip_discards)
kinds=$(ip netns exec "$inet" python3 "$craft" malformed eth0 "$pbx_mac" 203.0.113.10 203.0.113.1 \
  2001:db8:3::10 2001:db8:3::1 "$reps")
sleep 1
s1=$(stats)
x1=$(ip_discards)
read -r reach_kinds other_kinds < <(python3 -c 'import json,sys
k=json.loads(sys.argv[1]); print(sum(1 for v in k.values() if v["reaches_engine"]), sum(1 for v in k.values() if not v["reaches_engine"]))' "$kinds")
d_malformed=$(($(counter "$s1" by_reason malformed) - $(counter "$s0" by_reason malformed)))
d_allowed=$(($(counter "$s1" by_reason allowed) - $(counter "$s0" by_reason allowed)))
d_parse=$(($(counter "$s1" parse_errors) - $(counter "$s0" parse_errors)))
echo "malformed flood: $reach_kinds kinds x $reps reach the engine, $other_kinds kinds x $reps are the kernel's to discard;" \
  "engine counted $d_malformed malformed, $d_allowed allowed"
expect_eq "every malformed packet that reaches the engine is dropped as malformed" $((reach_kinds * reps)) "$d_malformed"
expect_eq "no packet accepted as allowed during the flood" 0 "$d_allowed"
# Every kernel-discarded kind but the overlapping fragments (a reassembly failure) is a
# header error or a truncated packet to the PBX's IP layer.
echo "PBX kernel IP header errors + truncated packets: +$((x1 - x0))"
expect_eq "the kernel refused the IP-level malformations itself" $(((other_kinds - 1) * reps)) $((x1 - x0))
expect_eq "NFQUEUE messages all parsed" 0 "$d_parse"
alive && pass || fail "engine died during the malformed flood"
check_probes "after the flood"

# 2. SIP scanner sweep of every UDP port from the internet, ~20000 packets/s.
# (5060 and 4569 belong to the probe server.)
listen_ports=69,1194,4000,5160,6000,10000,20000,20001,45000,65535
ip netns exec "$pbx" python3 "$craft" listen "$listen_ports" 12 "$tmp/listen.ready" >"$tmp/listen.json" &
listen_pid=$!
helper_pids+=("$listen_pid")
wait_for 10 test -f "$tmp/listen.ready" || fail "listener did not start"
s0=$(stats)
sweep=$(ip netns exec "$inet" python3 "$craft" sweep 203.0.113.1 1 65535 20000)
wait "$listen_pid" || true
s1=$(stats)
open_udp=$(python3 - "$PBXGATE_SOURCE_DIR/policies/freepbx.toml" <<'PY'
import sys, tomllib
ports = set()
for s in tomllib.load(open(sys.argv[1], "rb"))["services"].values():
    if s.get("enabled", True) and "udp" in s["proto"].split("+") and "internet" in s["allow"]:
        for p in s["ports"]:
            lo, _, hi = str(p).partition("-")
            ports.update(range(int(lo), int(hi or lo) + 1))
print(len(ports))
PY
)
delta() { echo $(($(counter "$s1" by_reason "$1") - $(counter "$s0" by_reason "$1"))); }
d_allowed=$(delta allowed)
d_judged=$((d_allowed + $(delta no_service) + $(delta zone_not_allowed)))
echo "sweep: $sweep; judged $d_judged port packets, allowed $d_allowed (policy opens $open_udp UDP ports to the internet)"
expect_eq "every scanned port got a verdict" 65535 "$d_judged"
expect_eq "accepted exactly the ports open to the internet" "$open_udp" "$d_allowed"
got=$(python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); print(",".join(p for p in sorted(c, key=int) if c[p]))' "$tmp/listen.json" || echo "no listener result")
expect_eq "listened ports that received the scan" "1194,4000,10000,20000" "$got"
alive && pass || fail "engine died during the sweep"

rss_after=$(rss_kb)
echo "engine RSS: ${rss_before} kB before the flood, ${rss_after} kB after flood and sweep"
[ $((rss_after - rss_before)) -lt 8192 ] && pass || fail "RSS grew by $((rss_after - rss_before)) kB (bound 8192)"
check_probes "after the sweep"
stop_engine

# 3. Queue overflow: a 64-packet kernel queue, the engine frozen, 2000 datagrams to an
# unclaimed port (dropped by policy from the internet), per fail mode and overflow setting.
burst=2000
for run in "open drop" "closed drop" "open accept"; do
  read -r mode overflow <<<"$run"
  cat >"$tmp/overflow.toml" <<EOF2
extends = "$policy"
[engine]
queue_maxlen = 64
overflow = "$overflow"
EOF2
  start_engine "$tmp/overflow.toml" "$mode"
  rm -f "$tmp/listen.ready"
  ip netns exec "$pbx" python3 "$craft" listen 45000 6 "$tmp/listen.ready" >"$tmp/listen.json" &
  listen_pid=$!
  helper_pids+=("$listen_pid")
  wait_for 10 test -f "$tmp/listen.ready" || fail "listener did not start"
  s0=$(stats)
  k0=$(ip netns exec "$pbx" awk '$1 == 0 {print $6}' /proc/net/netfilter/nfnetlink_queue)
  kill -STOP "$engine_pid"
  ip netns exec "$inet" python3 "$craft" burst 203.0.113.1 45000 "$burst" 32 >/dev/null
  sleep 1
  k1=$(ip netns exec "$pbx" awk '$1 == 0 {print $6}' /proc/net/netfilter/nfnetlink_queue)
  waiting=$(ip netns exec "$pbx" awk '$1 == 0 {print $3}' /proc/net/netfilter/nfnetlink_queue)
  kill -CONT "$engine_pid"
  wait "$listen_pid" || true
  s1=$(stats)
  delivered=$(json_get "$(cat "$tmp/listen.json")" 45000 || echo "no listener result")
  judged=$(($(delta no_service)))
  kdropped=$((k1 - k0))
  what="fail-$mode, overflow $overflow"
  echo "overflow, $what: $burst sent, $waiting held by the kernel queue while frozen, $judged judged after," \
    "$delivered delivered, kernel queue_dropped +$kdropped"
  expect_eq "$what: the frozen queue holds queue_maxlen packets" 64 "$waiting"
  expect_eq "$what: the queued packets are judged (dropped) once the engine resumes" 64 "$judged"
  if [ "$overflow" = accept ]; then
    expect_eq "$what: the overflow passes unjudged" $((burst - 64)) "$delivered"
    expect_eq "$what: the kernel counts no drop" 0 "$kdropped"
  else
    expect_eq "$what: nothing passes" 0 "$delivered"
    # The overflow, plus the odd IPv6 neighbour/MLD packet that met the full queue too.
    [ "$kdropped" -ge $((burst - 64)) ] && [ "$kdropped" -le $((burst - 64 + 10)) ] && pass ||
      fail "$what: the kernel counted queue_dropped +$kdropped ($((burst - 64)) expected, +10 tolerated)"
    expect_eq "$what: the engine's stats report it" "$k1" "$(counter "$s1" queues 0 kernel_queue_dropped)"
  fi
  alive && pass || fail "engine died after the overflow ($what)"
  check_probes "after the overflow ($what)"
  stop_engine
done

# 4. A flood at a closed port from the internet while the queue overflows (the engine
# frozen ~2 s, as a descheduled or swapped-out process would be), with the shipped
# defaults: fail open, overflow drop. SSH (the probe server's TCP 22) must stay
# unreachable from the internet throughout, and an RTP flow offloaded before the freeze
# must keep all its media.
cat >"$tmp/flood.toml" <<EOF2
extends = "$policy"
[engine]
queue_maxlen = 64
EOF2
start_engine "$tmp/flood.toml" open
rm -f "$tmp/listen.ready"
ip netns exec "$pbx" python3 "$craft" listen 10000,45000 9 "$tmp/listen.ready" >"$tmp/flood-listen.json" &
listen_pid=$!
helper_pids+=("$listen_pid")
wait_for 10 test -f "$tmp/listen.ready" || fail "listener did not start"
ip netns exec "$inet" python3 "$here/probe.py" send --src 203.0.113.10 --dst 203.0.113.1 --port 10000 \
  --count 2500 --rate 500 --payload RTP >"$tmp/rtp-sent.json" &
rtp_pid=$!
helper_pids+=("$rtp_pid")
sleep 1  # the flow is judged and offloaded
q0=$(ip netns exec "$pbx" awk '$1 == 0 {print $6, $8}' /proc/net/netfilter/nfnetlink_queue)
kill -STOP "$engine_pid"
ip netns exec "$inet" python3 "$craft" connects 203.0.113.10 203.0.113.1 22 2 >"$tmp/ssh.json" &
ssh_pid=$!
helper_pids+=("$ssh_pid")
flood=$(ip netns exec "$inet" python3 "$craft" flood 203.0.113.10 203.0.113.1 45000 2 400000)
wait "$ssh_pid" || true
q1=$(ip netns exec "$pbx" awk '$1 == 0 {print $6, $8}' /proc/net/netfilter/nfnetlink_queue)
kill -CONT "$engine_pid"
wait "$rtp_pid" || fail "RTP sender failed"
wait "$listen_pid" || true
read -r qd0 seq0 <<<"$q0"
read -r qd1 seq1 <<<"$q1"
flood_sent=$(json_get "$flood" sent)
ssh_tried=$(json_get "$(cat "$tmp/ssh.json")" tried)
ssh_ok=$(json_get "$(cat "$tmp/ssh.json")" connected)
rtp_sent=$(json_get "$(cat "$tmp/rtp-sent.json")" sent)
rtp_got=$(json_get "$(cat "$tmp/flood-listen.json")" 10000)
flood_got=$(json_get "$(cat "$tmp/flood-listen.json")" 45000)
echo "flood while frozen (fail open, overflow drop): $flood_sent flood datagrams sent, $flood_got reached the closed" \
  "port; kernel queue_dropped +$((qd1 - qd0)), ids handed out +$((seq1 - seq0)); SSH from the internet:" \
  "$ssh_ok of $ssh_tried connections; offloaded RTP: $rtp_got of $rtp_sent delivered"
expect_eq "flood: no SSH connection from the internet while the queue overflows" 0 "$ssh_ok"
[ "$ssh_tried" -ge 5 ] && pass || fail "flood: only $ssh_tried SSH attempts were made"
expect_eq "flood: no flood datagram reaches the closed port" 0 "$flood_got"
[ $((qd1 - qd0)) -ge 1000 ] && pass || fail "flood: the queue did not overflow (queue_dropped +$((qd1 - qd0)))"
expect_eq "flood: the offloaded RTP flow keeps every datagram" "$rtp_sent" "$rtp_got"
alive && pass || fail "engine died after the flood"
check_probes "after the flood"
stop_engine
finish
