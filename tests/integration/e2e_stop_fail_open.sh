#!/usr/bin/env bash
# Stopping in fail open loses nothing: a numbered UDP stream flows through the engine while
# it is stopped with SIGTERM and started again, three times. With fail open the packets
# that reach the queue while the engine stops must still pass: those already queued get
# the drain verdict (accept), those that arrive while it drains take the kernel's queue-full
# path (the engine shrinks its queue to 0 with FAIL_OPEN first), and once it has closed
# its queue --queue-bypass passes them. So every datagram sent is delivered, with no gap.
source "$(dirname "$0")/lib.sh"
source "$PBXGATE_SOURCE_DIR/scripts/lib/testbed.sh"
testbed_require_root
trap testbed_cleanup EXIT
testbed_start e2estop
# Flow offload off: every datagram of the stream goes through the queue.
policy=$TB_TMP/testbed-no-offload.toml
cat >"$policy" <<EOF2
extends = "$PBXGATE_SOURCE_DIR/tests/data/policies/testbed.toml"
[services.rtp]
offload = false
[services.udptl]
offload = false
EOF2
log=$TB_TMP/engine.log
lan=${TB_NS[lan]}

testbed_rules "$policy" --fail open || { echo "FAIL: pbxgate-rules apply --fail open" >&2; exit 1; }
testbed_engine_start "$log" --policy "$policy" --fail open

# 20,000 datagrams at 10,000/s from the lan to RTP port 10000 (allowed from the lan): about
# 2 s, three stops and restarts in it. Bounded in count and time (probe.py gives up).
counted=$TB_TMP/count.json
ip netns exec "$TB_PBX" python3 "$TB_PROBE" count --port 10000 --ready "$TB_TMP/count-ready" \
  --idle 2 --max-seconds 30 >"$counted" &
receiver=$!
TB_PIDS+=("$receiver")
tb_wait_for 10 test -f "$TB_TMP/count-ready" || fail "counting receiver did not start"
ip netns exec "$lan" python3 "$TB_PROBE" send --src 192.0.2.10 --dst 192.0.2.1 --port 10000 \
  --count 20000 --rate 10000 --payload RTP >"$TB_TMP/sent.json" &
sender=$!
TB_PIDS+=("$sender")
for round in 1 2 3; do
  sleep 0.5
  testbed_engine_stop TERM
  expect_eq "engine exit status after SIGTERM under traffic (round $round)" 0 "$TB_ENGINE_RC"
  [ "$round" = 3 ] || testbed_engine_start "$log" --policy "$policy" --fail open
done
wait "$sender" || fail "the stream sender failed"
wait "$receiver" || fail "the counting receiver failed"
sent=$(json_get "$(cat "$TB_TMP/sent.json")" sent)
received=$(json_get "$(cat "$counted")" received)
gaps=$(json_get "$(cat "$counted")" gaps)
echo "stream: sent $sent, received $received, gaps $gaps"
expect_eq "datagrams sent" 20000 "$sent"
expect_eq "datagrams delivered (fail open: none lost across three SIGTERMs)" "$sent" "$received"
expect_eq "gaps in the delivered sequence" 0 "$gaps"
finish
