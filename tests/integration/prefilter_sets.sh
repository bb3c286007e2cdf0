#!/usr/bin/env bash
# The kernel pre-filter sets, on NFQUEUE in the namespace testbed:
#  a. `pbxgate-rules apply` creates pbxgate-blocked4/6 from the policy's blocked zone and
#     the empty ban sets; a flood from a blocked source never reaches the queue (the kernel
#     queue's id sequence does not move) and counts as drops of reason blocked;
#  b. a reload that unblocks the source swaps the set's contents: the same flood is then
#     queued, judged and delivered (SIP is open to the internet);
#  c. bans: a ban added through the engine's control socket (`pbxgate bans add`) reaches
#     pbxgate-ban4 with its timeout and drops that source before the queue; `pbxgate bans
#     remove` takes it out of the set and lets the source through again.
# Exit 0 pass, 1 fail, 77 skipped (not root). About 20 s.
source "$(dirname "$0")/lib.sh"
source "$PBXGATE_SOURCE_DIR/scripts/lib/testbed.sh"
testbed_require_root
command -v ipset >/dev/null || { echo "FAIL: ipset not installed (scripts/install-deps)" >&2; exit 1; }
trap testbed_cleanup EXIT
testbed_start "pf"
inet=${TB_NS[inet]}
craft=$PBXGATE_SOURCE_DIR/tests/integration/hostile_craft.py
log=$TB_TMP/engine.log
stats=$TB_TMP/stats.json
policy=$TB_TMP/site.toml
base=$PBXGATE_SOURCE_DIR/tests/data/policies/testbed.toml
printf 'extends = "%s"\n' "$base" >"$policy"
in_pbx() { ip netns exec "$TB_PBX" "$@"; }
# queue0 FIELD: a field of queue 0's line of /proc/net/netfilter/nfnetlink_queue
# (8: the last packet id handed out, i.e. how many packets were ever queued).
queue0() { in_pbx awk -v f="$1" '$1 == 0 {print $f}' /proc/net/netfilter/nfnetlink_queue; }
stat_of() { python3 -c 'import json,sys
v=json.load(open(sys.argv[1]))
for k in sys.argv[2:]: v=v.get(k, {}) if isinstance(v, dict) else {}
print(v if v != {} else 0)' "$stats" "$@"; }
members() { in_pbx ipset list "$1" -output save | awk '$1 == "add" {print $3}' | sort | tr '\n' ' '; }
ban4_is() { [ "$(members pbxgate-ban4)" = "$1" ]; }
# flood_from SRC COUNT: COUNT datagrams (bounded: 5 s) from SRC to SIP at the PBX, counted
# by a listener; prints "queued delivered" (ids the kernel queue handed out, datagrams received).
flood_from() {
  local src=$1 n=$2 seq0 seq1 got
  rm -f "$TB_TMP/listen.ready"
  in_pbx python3 "$craft" listen 5060 4 "$TB_TMP/listen.ready" >"$TB_TMP/listen.json" &
  local lp=$!
  TB_PIDS+=("$lp")
  tb_wait_for 10 test -f "$TB_TMP/listen.ready" || fail "listener did not start"
  seq0=$(queue0 8)
  ip netns exec "$inet" python3 "$craft" flood "$src" 203.0.113.1 5060 5 "$n" >/dev/null
  wait "$lp" || true
  seq1=$(queue0 8)
  got=$(json_get "$(cat "$TB_TMP/listen.json")" 5060)
  echo "$((seq1 - seq0)) $got"
}

testbed_rules "$policy" --fail open || { echo "FAIL: pbxgate-rules apply" >&2; exit 1; }
expect_eq "a: blocked zone (IPv4) in pbxgate-blocked4" "203.0.113.200 " "$(members pbxgate-blocked4)"
expect_eq "a: blocked zone (IPv6) in pbxgate-blocked6" "2001:db8:3::200 " "$(members pbxgate-blocked6)"
expect_eq "a: ban set created empty" "" "$(members pbxgate-ban4)"
expect_contains "a: the DROP is before the queue" "match-set pbxgate-blocked4 src" \
  "$(in_pbx iptables -S PBXGATE-INPUT | head -3)"
run=$TB_TMP/run
testbed_engine_start "$log" --policy "$policy" --fail open --stats-file "$stats" --pid-file "$TB_TMP/pid" \
  --runtime-dir "$run" --state-dir "$TB_TMP/state"
bans() { "$PBXGATE" bans --runtime-dir "$run" "$@"; }

# --- a ----------------------------------------------------------------------------------
n=5000
k_before=$(in_pbx cat /proc/net/netfilter/nfnetlink_queue)
read -r queued delivered <<<"$(flood_from 203.0.113.200 $n)"
k_after=$(in_pbx cat /proc/net/netfilter/nfnetlink_queue)
sleep 1.2  # the engine reads the set counters once a second
testbed_engine_stats "$stats"
pre=$(stat_of prefilter_dropped)
blocked=$(stat_of by_reason blocked)
echo "a: blocked-source flood of $n: queued $queued, delivered $delivered; engine: prefilter_dropped $pre," \
  "by_reason blocked $blocked"
echo "a: kernel queue counters before: $k_before"
echo "a: kernel queue counters after:  $k_after"
expect_eq "a: the blocked flood never reaches the queue" 0 "$queued"
expect_eq "a: nothing of it is delivered" 0 "$delivered"
[ "$pre" -ge "$n" ] && pass || fail "a: prefilter_dropped $pre < $n"
[ "$blocked" -ge "$n" ] && pass || fail "a: by_reason blocked $blocked < $n"

# --- b ----------------------------------------------------------------------------------
printf 'extends = "%s"\n[zones]\nblocked = ["2001:db8:3::200/128"]\n' "$base" >"$policy.new"
mv "$policy.new" "$policy"
kill -HUP "$TB_ENGINE_PID"
tb_wait_for 5 grep -qs "pbxgate-blocked4 holds 0 prefix" "$log" || fail "b: the reload did not refill the set"
expect_eq "b: the reload swapped the IPv4 set empty" "" "$(members pbxgate-blocked4)"
expect_eq "b: the IPv6 set kept its member" "2001:db8:3::200 " "$(members pbxgate-blocked6)"
n=2000
read -r queued delivered <<<"$(flood_from 203.0.113.200 $n)"
echo "b: after the reload unblocked it, a flood of $n: queued $queued, delivered $delivered"
[ "$queued" -ge "$n" ] && pass || fail "b: only $queued of $n queued after the unblock"
[ "$delivered" -ge $((n * 9 / 10)) ] && pass || fail "b: only $delivered of $n delivered after the unblock"

# --- c ----------------------------------------------------------------------------------
out=$(bans add 203.0.113.10 --for 10m 2>&1) || fail "c: bans add failed: $out"
echo "c: $out"
# The engine syncs its bans into the kernel sets once a second.
tb_wait_for 5 ban4_is "203.0.113.10 " || true
expect_eq "c: the ban is in pbxgate-ban4" "203.0.113.10 " "$(members pbxgate-ban4)"
timeout_left=$(in_pbx ipset list pbxgate-ban4 -output save | awk '$1 == "add" {print $5}')
[ "${timeout_left:-0}" -gt 590 ] && [ "${timeout_left:-0}" -le 600 ] && pass ||
  fail "c: ban timeout in the kernel is '$timeout_left' (590..600 expected)"
n=2000
read -r queued delivered <<<"$(flood_from 203.0.113.10 $n)"
echo "c: banned source, flood of $n: queued $queued, delivered $delivered"
expect_eq "c: the banned source never reaches the queue" 0 "$queued"
expect_eq "c: nothing of it is delivered" 0 "$delivered"
out=$(bans remove 203.0.113.10 2>&1) || fail "c: bans remove failed: $out"
tb_wait_for 5 ban4_is "" || true
expect_eq "c: removing the ban empties pbxgate-ban4" "" "$(members pbxgate-ban4)"
read -r queued delivered <<<"$(flood_from 203.0.113.10 $n)"
echo "c: after the ban is lifted, flood of $n: queued $queued, delivered $delivered"
[ "$queued" -ge "$n" ] && pass || fail "c: only $queued of $n queued after the ban was lifted"

testbed_engine_stop TERM
expect_eq "engine exit status" 0 "$TB_ENGINE_RC"
in_pbx bash -c "PBXGATE=$PBXGATE bash $PBXGATE_SOURCE_DIR/scripts/pbxgate-rules remove" 2>/dev/null ||
  fail "pbxgate-rules remove"
in_pbx ipset list -n | grep -q pbxgate && fail "remove left pbxgate sets behind" || pass
finish
