#!/usr/bin/env bash
# The engine stopping, end to end on NFQUEUE:
#  1. fail open (--queue-bypass in the rules): SIGKILL under traffic; with no engine bound,
#     traffic flows unjudged (SIP delivered, and SSH from the internet too: nothing enforces);
#     a restarted engine takes over (SSH from the internet dropped, SIP accepted).
#  2. fail closed: SIGKILL under traffic; nothing flows (SIP dropped from lan and internet);
#     a restarted engine takes over the same way.
#  3. SIGTERM loses nothing: a bounded, numbered UDP stream to an allowed port, SIGTERM
#     midway with fail closed (see the comment there for what is asserted and why).
source "$(dirname "$0")/lib.sh"
source "$PBXGATE_SOURCE_DIR/scripts/lib/testbed.sh"
testbed_require_root
trap testbed_cleanup EXIT
testbed_start e2ekill
# Flow offload off: this test is about what the queue itself does when the engine stops
# (tests/integration/offload_e2e.sh covers offloaded flows across a kill).
policy=$TB_TMP/testbed-no-offload.toml
cat >"$policy" <<EOF
extends = "$PBXGATE_SOURCE_DIR/tests/data/policies/testbed.toml"
[services.rtp]
offload = false
[services.udptl]
offload = false
EOF
log=$TB_TMP/engine.log
lan=${TB_NS[lan]}
inet=${TB_NS[inet]}

# The four probes every phase looks at: SIP from the lan and the internet (allowed), SSH
# from the internet (the policy drops it), SIP over IPv6 from the internet.
probe_phase() {
  python3 "$TB_PROBE" many \
    "$lan,sip-lan,udp,192.0.2.10,192.0.2.1,5060" \
    "$inet,sip-internet,udp,203.0.113.10,203.0.113.1,5060" \
    "$inet,sip-internet-v6,udp,2001:db8:3::10,2001:db8:3::1,5060" \
    "$inet,ssh-internet,tcp,203.0.113.10,203.0.113.1,22" | tr '\n' ' '
}
expect_phase() {  # expect_phase WHEN EXPECTED_LINE
  local got
  got=$(probe_phase)
  expect_eq "$1" "$2" "${got% }"
}
enforced="sip-internet delivered sip-internet-v6 delivered sip-lan delivered ssh-internet dropped"

# kill_under_traffic: SIGKILL the engine while a SIP stream from the lan is flowing.
kill_under_traffic() {
  ip netns exec "$lan" python3 "$TB_PROBE" send --src 192.0.2.10 --dst 192.0.2.1 --port 5060 \
    --count 1000 --rate 1000 --payload REGISTER >/dev/null &
  local sender=$!
  TB_PIDS+=("$sender")
  sleep 0.3
  testbed_engine_stop KILL
  expect_eq "engine exit status after SIGKILL" 137 "$TB_ENGINE_RC"
  wait "$sender" || true
}

testbed_serve 22 5060

# --- 1. fail open ------------------------------------------------------------------------
testbed_rules "$policy" --fail open || { echo "FAIL: pbxgate-rules apply" >&2; exit 1; }
testbed_engine_start "$log" --policy "$policy" --fail open
expect_phase "fail open, engine running" "$enforced"
kill_under_traffic
expect_phase "fail open, engine killed: everything passes unjudged" \
  "sip-internet delivered sip-internet-v6 delivered sip-lan delivered ssh-internet delivered"
testbed_engine_start "$log" --policy "$policy" --fail open
expect_phase "fail open, engine restarted" "$enforced"
testbed_engine_stop TERM
expect_eq "engine exit status after SIGTERM" 0 "$TB_ENGINE_RC"

# --- 2. fail closed ----------------------------------------------------------------------
testbed_rules "$policy" --fail closed || { echo "FAIL: pbxgate-rules apply --fail closed" >&2; exit 1; }
testbed_engine_start "$log" --policy "$policy" --fail closed
expect_phase "fail closed, engine running" "$enforced"
kill_under_traffic
expect_phase "fail closed, engine killed: nothing flows" \
  "sip-internet dropped sip-internet-v6 dropped sip-lan dropped ssh-internet dropped"
stats=$TB_TMP/stats.json
testbed_engine_start "$log" --policy "$policy" --fail closed --stats-file "$stats"
expect_phase "fail closed, engine restarted" "$enforced"

# --- 3. SIGTERM loses nothing --------------------------------------------------------------
# A numbered stream of 2,000 datagrams at 1,000/s from the lan to RTP port 10000 (allowed
# from the lan, and no other traffic goes there), SIGTERM after about 1 s, fail closed.
# With fail closed, a datagram reaches the receiver only if the engine judged it and gave
# it accept: once the engine has unbound its queue the kernel drops everything else. So:
#  - received == the engine's accept count for rtp/lan: no datagram the engine accepted was
#    lost on the way out (the verdicts of the last burst were sent before the socket closed),
#    and none slipped past the engine;
#  - no gaps: the delivered sequence numbers are exactly 0..received-1, so every datagram
#    sent before the last one the engine read was delivered; what was lost is the tail that
#    arrived after the engine stopped reading (the queue is FIFO, verdicts go in order);
#  - 0 < received < 2000: the stream really straddled the stop;
#  - exit status 0.
counted=$TB_TMP/count.json
ip netns exec "$TB_PBX" python3 "$TB_PROBE" count --port 10000 --ready "$TB_TMP/count-ready" \
  --idle 1.5 --max-seconds 20 >"$counted" &
receiver=$!
TB_PIDS+=("$receiver")
tb_wait_for 10 test -f "$TB_TMP/count-ready" || fail "counting receiver did not start"
ip netns exec "$lan" python3 "$TB_PROBE" send --src 192.0.2.10 --dst 192.0.2.1 --port 10000 \
  --count 2000 --rate 1000 --payload RTP >"$TB_TMP/sent.json" &
sender=$!
TB_PIDS+=("$sender")
sleep 1
testbed_engine_stop TERM
expect_eq "engine exit status after SIGTERM under traffic" 0 "$TB_ENGINE_RC"
wait "$sender" || fail "the stream sender failed"
wait "$receiver" || fail "the counting receiver failed"
sent=$(json_get "$(cat "$TB_TMP/sent.json")" sent)
received=$(json_get "$(cat "$counted")" received)
gaps=$(json_get "$(cat "$counted")" gaps)
accepted=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["by_service"].get("rtp", {}).get("lan", {}).get("accept", 0))' "$stats")
echo "stream: sent $sent, received $received, gaps $gaps, engine accepted $accepted"
expect_eq "datagrams sent" 2000 "$sent"
expect_eq "delivered == accepted by the engine (rtp/lan)" "$accepted" "$received"
expect_eq "gaps in the delivered sequence" 0 "$gaps"
if [ "$received" -gt 0 ] && [ "$received" -lt "$sent" ]; then pass; else
  fail "the stream should straddle the stop: received $received of $sent"
fi
finish
