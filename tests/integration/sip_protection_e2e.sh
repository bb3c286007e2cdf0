#!/usr/bin/env bash
# SIP protection through the real kernel path: the PBX's responses are queued by the
# PBXGATE-OUTPUT chain, a brute force with a forged User-Agent is banned after 5 failed
# authentications (its later requests never reach the registrar), the ban is logged once,
# saved under --state-dir and still in force after an engine restart; a scanner User-Agent
# is banned at its first request.
source "$(dirname "$0")/lib.sh"
source "$PBXGATE_SOURCE_DIR/scripts/lib/testbed.sh"
testbed_require_root
trap testbed_cleanup EXIT
testbed_start sipe2e
policy=$PBXGATE_SOURCE_DIR/tests/data/policies/testbed.toml
here=$PBXGATE_SOURCE_DIR/tests/integration
state=$TB_TMP/state
mkdir -p "$state"

testbed_rules "$policy" || { echo "FAIL: pbxgate-rules apply" >&2; exit 1; }
expect_contains "OUTPUT jumps to the SIP response chain" "PBXGATE-OUTPUT" \
  "$(ip netns exec "$TB_PBX" iptables -S OUTPUT)"
ip netns exec "$TB_PBX" python3 "$here/sip_mini_registrar.py" &
TB_PIDS+=($!)
log=$TB_TMP/engine.log
testbed_engine_start "$log" --policy "$policy" --pid-file "" --watch-quiet 0 --state-dir "$state"

out=$(timeout 30 ip netns exec "${TB_NS[inet]}" python3 "$here/sip_register_client.py" 203.0.113.1 Yealink 12 auth)
expect_eq "brute force: only the 5 failing attempts are answered" "answered 5 of 12" "$out"
tb_wait_for 5 grep -q "ban 203.0.113.10/32 reason auth_failures (5 failures in 60 s, last status 403) for 3600 s" "$log"
expect_eq "one ban line with its evidence" 1 "$(grep -c 'ban 203.0.113.10/32 reason auth_failures' "$log")"
expect_contains "responses were queued" "NFQUEUE" "$(ip netns exec "$TB_PBX" iptables -nvL PBXGATE-OUTPUT)"

testbed_engine_stop
expect_eq "engine exit" 0 "$TB_ENGINE_RC"
expect_contains "ban saved" "ban 203.0.113.10/32 auth_failures" "$(cat "$state/sip-state")"

testbed_engine_start "$log" --policy "$policy" --pid-file "" --watch-quiet 0 --state-dir "$state"
out=$(timeout 30 ip netns exec "${TB_NS[inet]}" python3 "$here/sip_register_client.py" 203.0.113.1 Yealink 3 noauth)
expect_eq "the ban survives a restart" "answered 0 of 3" "$out"

# The scanner test needs an unbanned internet source: a fresh state.
testbed_engine_stop
rm -f "$state/sip-state"
testbed_engine_start "$log" --policy "$policy" --pid-file "" --watch-quiet 0 --state-dir "$state"
out=$(timeout 30 ip netns exec "${TB_NS[inet]}" python3 "$here/sip_register_client.py" 203.0.113.1 friendly-scanner 3 noauth)
expect_eq "a scanner gets no answer at all" "answered 0 of 3" "$out"
tb_wait_for 5 grep -q "reason scanner (scanner signature \"friendly-scanner\")" "$log"
expect_contains "scanner ban logged" "reason scanner" "$(cat "$log")"
finish
