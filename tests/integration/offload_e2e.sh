#!/usr/bin/env bash
# Flow offload end to end, on NFQUEUE in the namespace testbed:
#  a. RTP streams (IPv4 internet, IPv4 lan, IPv6 internet) are judged about once per flow
#     and then bypass the queue: every datagram is delivered, the engine saw a handful, and
#     the offload ACCEPT rule's counter carries the rest.
#  b. A reload that closes RTP to the internet cuts the offloaded internet flow within one
#     second (last internet datagram at most 1 s after the policy file was replaced), while
#     the lan flow keeps going without a loss; the engine counts the revocations.
#  c. SIGKILL with fail closed: an offloaded flow keeps flowing, while new traffic (SIP)
#     is dropped (nothing judges it).
#  d. Admin marks outside engine.mark_mask survive: a connmark bit set by the admin's
#     mangle rule stays on the connection through the offload and the revocation, and a
#     packet mark bit stays on the repeated packet.
# Exit 0 pass, 1 fail, 77 skipped (not root). About 30 s.
source "$(dirname "$0")/lib.sh"
source "$PBXGATE_SOURCE_DIR/scripts/lib/testbed.sh"
testbed_require_root
trap testbed_cleanup EXIT
testbed_start "ofl$$"
lan=${TB_NS[lan]}
inet=${TB_NS[inet]}
log=$TB_TMP/engine.log
stats=$TB_TMP/stats.json
policy=$TB_TMP/site.toml
base=$PBXGATE_SOURCE_DIR/tests/data/policies/testbed-media-open.toml
printf 'extends = "%s"\n' "$base" >"$policy"

in_pbx() { ip netns exec "$TB_PBX" "$@"; }
# rule_packets IPT CHAIN PATTERN: the packet counter of the first rule of CHAIN (filter)
# whose listing matches PATTERN.
rule_packets() {
  in_pbx "$1" -nvxL "$2" | awk -v pat="$3" '$0 ~ pat { print $1; exit }'
}
mangle_packets() { in_pbx iptables -t mangle -nvxL "$1" | awk -v pat="$2" '$0 ~ pat { print $1; exit }'; }
stat_of() { python3 -c 'import json,sys
v=json.load(open(sys.argv[1]))
for k in sys.argv[2:]: v=v.get(k, {}) if isinstance(v, dict) else {}
print(v if v != {} else 0)' "$stats" "$@"; }

# A receiver that records, per source address, every arrival time (wall clock, so the
# script's own `date` can be compared with it).
cat >"$TB_TMP/recv.py" <<'PY'
import json, socket, select, sys, time
ports = [int(p) for p in sys.argv[1].split(",")]
ready, idle, limit = sys.argv[2], float(sys.argv[3]), time.time() + float(sys.argv[4])
socks = []
for p in ports:
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.bind(("::", p)); s.setblocking(False); socks.append(s)
open(ready, "w").write("ready\n")
seen, last = {}, None
while time.time() < limit and (last is None or time.time() - last < idle):
    r, _, _ = select.select(socks, [], [], 0.1)
    for s in r:
        while True:
            try: data, addr = s.recvfrom(2048)
            except BlockingIOError: break
            now = time.time(); last = now
            src = addr[0].removeprefix("::ffff:")
            seen.setdefault(src, []).append(now)
json.dump({k: {"received": len(v), "first": v[0], "last": v[-1]} for k, v in seen.items()}, sys.stdout)
PY
start_receiver() {  # start_receiver PORTS OUT
  rm -f "$TB_TMP/recv-ready"
  in_pbx python3 "$TB_TMP/recv.py" "$1" "$TB_TMP/recv-ready" 2 40 >"$2" &
  receiver=$!
  TB_PIDS+=("$receiver")
  tb_wait_for 10 test -f "$TB_TMP/recv-ready" || fail "receiver did not start"
}
send_stream() {  # send_stream NS SRC DST PORT COUNT RATE OUT
  ip netns exec "$1" python3 "$TB_PROBE" send --src "$2" --dst "$3" --port "$4" --count "$5" --rate "$6" \
    --payload RTP >"$7" &
  TB_PIDS+=($!)
}
got() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], {}).get(sys.argv[3], 0))' "$@"; }

testbed_rules "$policy" --fail open || { echo "FAIL: pbxgate-rules apply" >&2; exit 1; }
# (d) the admin's marks: a connmark bit (0x1) set once per connection, and a packet mark
# bit (0x2) on every packet of the internet RTP flow; both outside pbxgate's 0x00f00000.
in_pbx iptables -t mangle -A PREROUTING -s 203.0.113.10 -p udp --dport 10000 -m conntrack --ctstate NEW \
  -j CONNMARK --set-xmark 0x1/0x1
in_pbx iptables -t mangle -A PREROUTING -s 203.0.113.10 -p udp --dport 10000 -j MARK --set-xmark 0x2/0x2
in_pbx iptables -t mangle -A INPUT -s 203.0.113.10 -p udp --dport 10000 -m comment --comment admin-all
in_pbx iptables -t mangle -A INPUT -s 203.0.113.10 -p udp --dport 10000 -m connmark --mark 0x1/0x1 \
  -m comment --comment admin-ctbit
# Ahead of pbxgate's jump: the repeated packet passes the filter hook again, carrying
# pbxgate's accept value and the admin's bit together.
in_pbx iptables -I INPUT 1 -s 203.0.113.10 -p udp --dport 10000 -m mark --mark 0x100002/0xf00002 \
  -m comment --comment repeat-with-admin-bit

testbed_engine_start "$log" --policy "$policy" --fail open --stats-file "$stats" --pid-file "$TB_TMP/pid"

# --- a + b ------------------------------------------------------------------------------
start_receiver 10000,10002,10006 "$TB_TMP/ab.json"
count=4000 rate=500  # 8 s per stream
send_stream "$inet" 203.0.113.10 203.0.113.1 10000 $count $rate "$TB_TMP/sent-inet.json"
send_stream "$lan" 192.0.2.10 192.0.2.1 10002 $count $rate "$TB_TMP/sent-lan.json"
send_stream "$inet" 2001:db8:3::10 2001:db8:3::1 10006 1000 $rate "$TB_TMP/sent-inet6.json"
sleep 2.5
testbed_engine_stats "$stats"
judged_inet=$(stat_of by_service rtp internet accept)
judged_lan=$(stat_of by_service rtp lan accept)
offloaded=$(stat_of offload accepts)
bypass4=$(rule_packets iptables PBXGATE-INPUT "connmark match +0x100000/0xf00000")
bypass6=$(rule_packets ip6tables PBXGATE-INPUT "connmark match +0x100000/0xf00000")
echo "a: after 2.5 s: engine judged rtp internet $judged_inet, lan $judged_lan; flows offloaded $offloaded;" \
  "offload ACCEPT rule counted $bypass4 (IPv4), $bypass6 (IPv6) packets"
# A few packets can be queued before the first verdict saves the mark: "about once".
for v in "$judged_inet" "$judged_lan"; do
  if [ "$v" -ge 1 ] && [ "$v" -le 5 ]; then pass; else fail "a: judged $v packets of an offloaded flow (1..5)"; fi
done
[ "$offloaded" -ge 3 ] && pass || fail "a: expected >= 3 offloaded flows, got $offloaded"
[ "${bypass4:-0}" -ge 1500 ] && pass || fail "a: IPv4 offload rule counted ${bypass4:-0} (>= 1500 expected)"
[ "${bypass6:-0}" -ge 500 ] && pass || fail "a: IPv6 offload rule counted ${bypass6:-0} (>= 500 expected)"

# b: close RTP to the internet (atomic replace; SIGHUP too, whichever comes first).
printf 'extends = "%s"\n[services.rtp]\nallow = ["lan", "trusted", "localhost"]\n' "$base" >"$policy.new"
reload_at=$(date +%s.%N)
mv "$policy.new" "$policy"
kill -HUP "$TB_ENGINE_PID"
wait "$receiver" || fail "receiver failed"
sent_inet=$(json_get "$(cat "$TB_TMP/sent-inet.json")" sent)
sent_lan=$(json_get "$(cat "$TB_TMP/sent-lan.json")" sent)
sent_inet6=$(json_get "$(cat "$TB_TMP/sent-inet6.json")" sent)
recv_inet=$(got "$TB_TMP/ab.json" 203.0.113.10 received)
recv_lan=$(got "$TB_TMP/ab.json" 192.0.2.10 received)
recv_inet6=$(got "$TB_TMP/ab.json" 2001:db8:3::10 received)
cut_after=$(python3 -c 'import json,sys; print("%.3f" % (json.load(open(sys.argv[1]))["203.0.113.10"]["last"] - float(sys.argv[2])))' \
  "$TB_TMP/ab.json" "$reload_at")
testbed_engine_stats "$stats"
revoked=$(stat_of offload revoked)
judged_lan=$(stat_of by_service rtp lan accept)
dropped_inet=$(stat_of by_service rtp internet drop)
echo "b: inet sent $sent_inet received $recv_inet (last one ${cut_after} s after the policy file was replaced);" \
  "lan sent $sent_lan received $recv_lan; inet6 sent $sent_inet6 received $recv_inet6;" \
  "revoked $revoked; engine judged rtp lan $judged_lan, dropped rtp internet $dropped_inet"
expect_eq "a: IPv6 internet stream (ended before the reload) fully delivered" "$sent_inet6" "$recv_inet6"
expect_eq "b: lan stream fully delivered across the reload" "$sent_lan" "$recv_lan"
python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) <= 1.0 else 1)' "$cut_after" && pass ||
  fail "b: the internet flow was cut $cut_after s after the reload (<= 1 s expected)"
[ "$recv_inet" -lt "$sent_inet" ] && [ "$recv_inet" -gt 0 ] && pass ||
  fail "b: the internet stream should be cut midway: received $recv_inet of $sent_inet"
[ "$revoked" -ge 2 ] && pass || fail "b: expected >= 2 revoked offloads, got $revoked"
[ "$judged_lan" -le 10 ] && pass || fail "b: the lan flow was judged $judged_lan times (<= 10 expected)"
[ "$dropped_inet" -ge 1 ] && pass || fail "b: the engine dropped no internet RTP after the reload"

# --- d ----------------------------------------------------------------------------------
admin_all=$(mangle_packets INPUT admin-all)
admin_ct=$(mangle_packets INPUT admin-ctbit)
repeat_bit=$(rule_packets iptables INPUT repeat-with-admin-bit)
echo "d: admin connmark bit on $admin_ct of $admin_all packets; repeated packets carrying both marks: $repeat_bit"
expect_eq "d: the admin's connmark bit stays on every packet's connection" "$admin_all" "$admin_ct"
[ "${repeat_bit:-0}" -ge 1 ] && pass || fail "d: no repeated packet kept the admin's packet mark bit"
ct_marks=$(in_pbx conntrack -L -p udp --orig-src 203.0.113.10 --dport 10000 2>/dev/null | grep -o 'mark=[0-9]*' | sort -u | tr '\n' ' ')
echo "d: conntrack marks of the internet flow after the revocation: $ct_marks"
expect_contains "d: admin bit kept, pbxgate's bits cleared (mark=1)" "mark=1 " "$ct_marks "

# --- c ----------------------------------------------------------------------------------
testbed_engine_stop TERM
testbed_rules "$policy" --fail closed || fail "pbxgate-rules apply --fail closed"
testbed_engine_start "$log" --policy "$policy" --fail closed
testbed_serve "" 5060
start_receiver 10004 "$TB_TMP/c.json"
send_stream "$lan" 192.0.2.10 192.0.2.1 10004 2500 $rate "$TB_TMP/sent-c.json"
sleep 1.5
testbed_engine_stop KILL
expect_eq "engine exit status after SIGKILL" 137 "$TB_ENGINE_RC"
sip=$(python3 "$TB_PROBE" many "$lan,sip-lan,udp,192.0.2.10,192.0.2.1,5060" | tr -d '\n')
expect_eq "c: new traffic with no engine, fail closed" "sip-lan dropped" "$sip"
wait "$receiver" || fail "receiver failed"
sent_c=$(json_get "$(cat "$TB_TMP/sent-c.json")" sent)
recv_c=$(got "$TB_TMP/c.json" 192.0.2.10 received)
echo "c: offloaded lan stream across SIGKILL (fail closed): sent $sent_c received $recv_c"
expect_eq "c: the offloaded flow keeps flowing with the engine killed" "$sent_c" "$recv_c"
finish
