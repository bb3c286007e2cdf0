#!/usr/bin/env bash
# The metrics endpoint of a running engine, scraped in the namespace testbed: known UDP
# streams (IPv4, so neighbour discovery adds nothing to the cells checked) must show up as
# exactly that many packets and bytes in pbxgate_packets_total / pbxgate_bytes_total
# {verdict, service, zone}; reloads (good and refused) move the generation and the reload
# counters; `pbxgate stats` prints the same numbers; log_format = "json" makes every log
# line a JSON object; drop_log_per_reason silences one reason; promtool lints the scrape
# when it is installed.
source "$(dirname "$0")/lib.sh"
source "$PBXGATE_SOURCE_DIR/scripts/lib/testbed.sh"
testbed_require_root
trap testbed_cleanup EXIT
testbed_start depmet

policy=$TB_TMP/site.toml
write_policy() {  # write_policy EXTRA_ENGINE_LINE
  cat >"$policy" <<TOML
extends = "$PBXGATE_SOURCE_DIR/policies/freepbx.toml"
[zones]
lan = ["192.0.2.0/24", "2001:db8:1::/64"]
trusted = ["198.51.100.0/24", "2001:db8:2::/64"]
blocked = ["203.0.113.200/32", "2001:db8:3::200/128"]
[engine]
metrics = "127.0.0.1:9477"
log_format = "json"
drop_log_per_reason = { blocked = 0 }
$1
TOML
}
write_policy ""
testbed_rules "$policy" || { echo "FAIL: pbxgate-rules apply" >&2; exit 1; }
testbed_serve "" 5060,45000
log=$TB_TMP/engine.log
# SIGHUP only (--watch-quiet 0): the reload counts below are the test's own SIGHUPs, not
# also the watcher's reload of the rewritten file.
testbed_engine_start "$log" --policy "$policy" --watch-quiet 0

scrape() { ip netns exec "$TB_PBX" python3 -c 'import urllib.request
print(urllib.request.urlopen("http://127.0.0.1:9477/metrics", timeout=5).read().decode(), end="")'; }
# metric TEXT 'name{labels}': the value of that exact series ("" when absent).
metric() { awk -v s="$2" '$1 == s { print $2 }' <<<"$1"; }
tb_wait_for 5 scrape >/dev/null || { fail "no metrics endpoint on 127.0.0.1:9477 in the PBX namespace"; finish; exit 1; }

# Streams: NAMESPACE SRC DST PORT COUNT -> the cell that must count them.
send() { ip netns exec "$1" python3 "$TB_PROBE" send --src "$2" --dst "$3" --port "$4" --count "$5" --rate 2000 >/dev/null; }
udp_bytes() { python3 -c 'import sys; print(sum(28 + len(b"%d stream" % i) for i in range(int(sys.argv[1]))))' "$1"; }
send "${TB_NS[lan]}" 192.0.2.10 192.0.2.1 5060 300
send "${TB_NS[inet]}" 203.0.113.10 203.0.113.1 45000 200
send "${TB_NS[inet]}" 203.0.113.200 203.0.113.1 5060 50
sleep 0.5  # the last verdicts are given; counters are read as they are
# The blocked source is dropped by the kernel pre-filter; the engine reads the set's counters
# once a second.
blocked_counted() { [ -n "$(metric "$(scrape)" 'pbxgate_decisions_total{reason="blocked"}')" ] &&
  [ "$(metric "$(scrape)" 'pbxgate_decisions_total{reason="blocked"}')" -ge 50 ]; }
tb_wait_for 5 blocked_counted || true  # the checks below say what is missing

m=$(scrape)
expect_eq "sip from lan: packets" 300 "$(metric "$m" 'pbxgate_packets_total{verdict="accept",service="sip",zone="lan"}')"
expect_eq "sip from lan: bytes" "$(udp_bytes 300)" "$(metric "$m" 'pbxgate_bytes_total{verdict="accept",service="sip",zone="lan"}')"
expect_eq "unclaimed port from internet: packets" 200 "$(metric "$m" 'pbxgate_packets_total{verdict="drop",service="none",zone="internet"}')"
expect_eq "unclaimed port from internet: bytes" "$(udp_bytes 200)" "$(metric "$m" 'pbxgate_bytes_total{verdict="drop",service="none",zone="internet"}')"
expect_eq "blocked source: packets" 50 "$(metric "$m" 'pbxgate_packets_total{verdict="drop",service="none",zone="blocked"}')"
expect_eq "verdicts given: drop" 250 "$(metric "$m" 'pbxgate_verdicts_total{verdict="drop"}')"
# no_service also counts the scrapes themselves: TCP to 9477 over lo, accepted (localhost_default).
scrapes=$(metric "$m" 'pbxgate_packets_total{verdict="accept",service="none",zone="localhost"}')
expect_eq "decisions: no_service = the dropped stream + the scrapes over lo" $((200 + scrapes)) "$(metric "$m" 'pbxgate_decisions_total{reason="no_service"}')"
expect_eq "decisions: blocked" 50 "$(metric "$m" 'pbxgate_decisions_total{reason="blocked"}')"
expect_eq "policy generation" 1 "$(metric "$m" 'pbxgate_policy_generation')"
expect_eq "kernel queue 0 drops (queue full)" 0 "$(metric "$m" 'pbxgate_queue_kernel_dropped_total{queue="0",cause="queue_full"}')"
age=$(metric "$m" 'pbxgate_worker_heartbeat_age_seconds{queue="0"}')
if python3 -c 'import sys; sys.exit(0 if 0 <= float(sys.argv[1]) < 1 else 1)' "${age:-x}"; then pass; else fail "heartbeat age of queue 0 should be under 1 s, got '$age'"; fi
expect_contains "content type" "text/plain; version=0.0.4" "$(ip netns exec "$TB_PBX" python3 -c 'import urllib.request
print(urllib.request.urlopen("http://127.0.0.1:9477/metrics", timeout=5).headers["Content-Type"])')"
status=$(ip netns exec "$TB_PBX" python3 -c 'import urllib.request, urllib.error
try: urllib.request.urlopen("http://127.0.0.1:9477/", timeout=5)
except urllib.error.HTTPError as e: print(e.code)')
expect_eq "GET / is 404" 404 "$status"

if command -v promtool >/dev/null; then
  lint=$(promtool check metrics <<<"$m" 2>&1) && pass || fail "promtool check metrics: $lint"
else
  echo "note: promtool not installed (Debian package prometheus): lint skipped"
fi

table=$(ip netns exec "$TB_PBX" "$PBXGATE" stats --policy "$policy")
expect_contains "pbxgate stats: generation" "policy generation 1" "$table"
expect_contains "pbxgate stats: drops" "250 dropped" "$table"
row=$(grep -E '^ +sip +lan ' <<<"$table" || true)
expect_eq "pbxgate stats: sip/lan row" "300 0 $(udp_bytes 300) 0" "$(awk '{print $3, $4, $5, $6}' <<<"$row")"

# A good reload, then a refused one: generation 2, one success, one failure.
kill -HUP "$TB_ENGINE_PID"
tb_wait_for 5 eval '[ "$(metric "$(scrape)" pbxgate_reloads_total)" = 1 ]' && pass || fail "reloads_total did not reach 1"
write_policy 'mode = "sideways"'
kill -HUP "$TB_ENGINE_PID"
tb_wait_for 5 eval '[ "$(metric "$(scrape)" pbxgate_reload_failures_total)" = 1 ]' && pass || fail "reload_failures_total did not reach 1"
m=$(scrape)
expect_eq "policy generation after reloads" 2 "$(metric "$m" 'pbxgate_policy_generation')"
expect_eq "counts survive reloads" 300 "$(metric "$m" 'pbxgate_packets_total{verdict="accept",service="sip",zone="lan"}')"

testbed_engine_stop TERM
expect_eq "engine exit status after SIGTERM" 0 "$TB_ENGINE_RC"
# log_format = "json": every line the engine wrote is one JSON object with time, level, msg.
bad=$(python3 - "$log" <<'PY'
import json, sys
bad = 0
for line in open(sys.argv[1]):
    try:
        o = json.loads(line)
        assert set(o) == {"time", "level", "msg"}
    except Exception:
        bad += 1
        print("not a JSON log record:", line.rstrip(), file=sys.stderr)
print(bad)
PY
)
expect_eq "log lines that are not JSON records" 0 "$bad"
expect_contains "engine log" '"msg":"reload' "$(cat "$log")"
# drop_log_per_reason = { blocked = 0 } silences the blocked stream's line, not the others.
expect_contains "drop log: the unclaimed port" "drop (no_service)" "$(cat "$log")"
if grep -q "drop (blocked)" "$log"; then fail "drop_log_per_reason blocked = 0 still logged a blocked drop"; else pass; fi
finish
