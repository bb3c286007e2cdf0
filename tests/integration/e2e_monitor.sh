#!/usr/bin/env bash
# `pbxgate run --mode monitor` end to end: every probe is delivered, including those the
# policy drops (ssh and a port no service claims from the internet, admin-http from the lan,
# talk-node from trusted, anything from the blocked address); the stats file counts them as
# would_drop with drop == 0 and still records the policy's own verdict per service; the log
# says "would drop".
source "$(dirname "$0")/lib.sh"
source "$PBXGATE_SOURCE_DIR/scripts/lib/testbed.sh"
testbed_require_root
trap testbed_cleanup EXIT
testbed_start e2emon
policy=$PBXGATE_SOURCE_DIR/tests/data/policies/testbed.toml

testbed_rules "$policy" || { echo "FAIL: pbxgate-rules apply" >&2; exit 1; }
testbed_serve 22,80,8443 5060,45000
stats=$TB_TMP/stats.json
log=$TB_TMP/engine.log
testbed_engine_start "$log" --policy "$policy" --mode monitor --stats-file "$stats"

# id: zone-what-family. All of them must be delivered; the comment says what enforce would do.
results=$(python3 - "${TB_NS[lan]}" "${TB_NS[trusted]}" "${TB_NS[inet]}" <<'PY'
import json, os, sys
sys.path.insert(0, os.environ["PBXGATE_SOURCE_DIR"] + "/tests/integration")
import probe
lan, trusted, inet = sys.argv[1:4]
def p(i, proto, src, dst, port):
    return {"id": i, "proto": proto, "src": src, "dst": dst, "port": port, "timeout": 1.0}
plan = {
    lan: [p("lan-admin-http-v4", "tcp", "192.0.2.10", "192.0.2.1", 80),             # enforce: drop
          p("lan-admin-http-v6", "tcp", "2001:db8:1::10", "2001:db8:1::1", 80),     # enforce: drop
          p("lan-sip-v4", "udp", "192.0.2.10", "192.0.2.1", 5060)],                 # enforce: accept
    trusted: [p("trusted-talk-node-v4", "tcp", "198.51.100.10", "198.51.100.1", 8443)],  # drop
    inet: [p("internet-ssh-v4", "tcp", "203.0.113.10", "203.0.113.1", 22),          # drop
           p("internet-ssh-v6", "tcp", "2001:db8:3::10", "2001:db8:3::1", 22),      # drop
           p("internet-unclaimed-v4", "udp", "203.0.113.10", "203.0.113.1", 45000),  # drop
           p("blocked-sip-v4", "udp", "203.0.113.200", "203.0.113.1", 5060),        # drop
           p("blocked-sip-v6", "udp", "2001:db8:3::200", "2001:db8:3::1", 5060),    # drop
           p("internet-sip-v6", "udp", "2001:db8:3::10", "2001:db8:3::1", 5060)],   # accept
}
r = probe.check_in_namespaces(plan)
print(" ".join("%s=%s" % (k, "delivered" if r[k]["ok"] else "dropped") for k in sorted(r)))
PY
)
for word in $results; do expect_eq "monitor mode delivers ${word%%=*}" delivered "${word#*=}"; done
expect_eq "number of probes answered" 10 "$(wc -w <<<"$results")"

testbed_engine_stop TERM
expect_eq "engine exit status after SIGTERM" 0 "$TB_ENGINE_RC"
[ -s "$stats" ] || { fail "no stats file written at exit"; finish; exit 1; }
s=$(cat "$stats")
expect_eq "stats: drop" 0 "$(json_get "$s" drop)"
expect_eq "stats: accept == packets" "$(json_get "$s" packets)" "$(json_get "$s" accept)"
would_drop=$(json_get "$s" would_drop)
if [ "$would_drop" -ge 8 ]; then pass; else fail "stats: would_drop should count the 8 probes the policy drops, got $would_drop"; fi
# by_service keeps the policy's verdict, so the dashboards show what enforce would do.
expect_eq "stats: ssh from internet, policy verdict drop" true "$(python3 -c 'import json,sys; print(str(json.load(open(sys.argv[1]))["by_service"]["ssh"]["internet"]["drop"] > 0).lower())' "$stats")"
expect_contains "engine log" "would drop (zone_not_allowed)" "$(cat "$log")"
expect_contains "engine log" "would drop (blocked)" "$(cat "$log")"
if grep -q ": drop (" "$log"; then fail "monitor mode logged a real drop: $(grep ': drop (' "$log" | head -1)"; else pass; fi
finish
