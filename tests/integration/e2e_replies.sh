#!/usr/bin/env bash
# Replies to connections the PBX itself opened come back in: the steering rules accept
# conntrack's REPLY direction before the queue (the engine sees no conntrack state, and
# would drop them: their destination is an ephemeral port no service claims). From the PBX
# namespace: a TCP connect to a server in the internet namespace on an unclaimed port
# (45000) and a DNS-like UDP request/answer to port 53, IPv4 and IPv6, must succeed; the
# same ports opened on the PBX and probed unsolicited from the internet must be dropped.
source "$(dirname "$0")/lib.sh"
source "$PBXGATE_SOURCE_DIR/scripts/lib/testbed.sh"
testbed_require_root
trap testbed_cleanup EXIT
testbed_start e2erep
policy=$PBXGATE_SOURCE_DIR/tests/data/policies/testbed.toml

testbed_rules "$policy" --fail closed || { echo "FAIL: pbxgate-rules apply" >&2; exit 1; }
testbed_serve 45000 53,45000                    # on the PBX: the unsolicited targets
testbed_serve 45000 53,45000 "${TB_NS[inet]}"  # on the internet host: what the PBX calls
stats=$TB_TMP/stats.json
testbed_engine_start "$TB_TMP/engine.log" --policy "$policy" --fail closed --stats-file "$stats"

results=$(python3 - "$TB_PBX" "${TB_NS[inet]}" <<'PY'
import os, sys
sys.path.insert(0, os.environ["PBXGATE_SOURCE_DIR"] + "/tests/integration")
import probe
pbx, inet = sys.argv[1:3]
def p(i, proto, src, dst, port):
    return {"id": i, "proto": proto, "src": src, "dst": dst, "port": port, "timeout": 1.0}
plan = {
    pbx: [p("outbound-tcp-45000-v4", "tcp", "203.0.113.1", "203.0.113.10", 45000),
          p("outbound-tcp-45000-v6", "tcp", "2001:db8:3::1", "2001:db8:3::10", 45000),
          p("outbound-dns-53-v4", "udp", "203.0.113.1", "203.0.113.10", 53),
          p("outbound-dns-53-v6", "udp", "2001:db8:3::1", "2001:db8:3::10", 53)],
    inet: [p("unsolicited-tcp-45000-v4", "tcp", "203.0.113.10", "203.0.113.1", 45000),
           p("unsolicited-tcp-45000-v6", "tcp", "2001:db8:3::10", "2001:db8:3::1", 45000),
           p("unsolicited-udp-45000-v4", "udp", "203.0.113.10", "203.0.113.1", 45000),
           p("unsolicited-udp-53-v6", "udp", "2001:db8:3::10", "2001:db8:3::1", 53)],
}
r = probe.check_in_namespaces(plan)
print(" ".join("%s=%s" % (k, "delivered" if r[k]["ok"] else "dropped") for k in sorted(r)))
PY
)
for word in $results; do
  case $word in
    outbound-*) expect_eq "reply to ${word%%=*}" delivered "${word#*=}" ;;
    unsolicited-*) expect_eq "${word%%=*}" dropped "${word#*=}" ;;
  esac
done
expect_eq "number of probes answered" 8 "$(wc -w <<<"$results")"

testbed_engine_stop TERM
expect_eq "engine exit status after SIGTERM" 0 "$TB_ENGINE_RC"
[ -s "$stats" ] || { fail "no stats file written at exit"; finish; exit 1; }
# The unsolicited probes reached the engine and were dropped as no_service.
no_service=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["by_reason"].get("no_service", 0))' "$stats")
if [ "$no_service" -ge 4 ]; then pass; else fail "stats: by_reason.no_service should count the 4 unsolicited probes, got $no_service"; fi
finish
