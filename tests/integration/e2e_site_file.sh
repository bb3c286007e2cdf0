#!/usr/bin/env bash
# A site file (tests/data/policies/testbed-sip-5160.toml) extends the testbed policy and
# moves SIP to 5160. End to end on NFQUEUE: 5160/udp is delivered from the internet and the
# lan, 5060/udp no longer is (no service claims it now), IPv4 and IPv6.
source "$(dirname "$0")/lib.sh"
source "$PBXGATE_SOURCE_DIR/scripts/lib/testbed.sh"
testbed_require_root
trap testbed_cleanup EXIT
testbed_start e2esite
policy=$PBXGATE_SOURCE_DIR/tests/data/policies/testbed-sip-5160.toml

testbed_rules "$policy" || { echo "FAIL: pbxgate-rules apply" >&2; exit 1; }
testbed_serve "" 5060,5160
stats=$TB_TMP/stats.json
testbed_engine_start "$TB_TMP/engine.log" --policy "$policy" --stats-file "$stats"

results=$(python3 - "${TB_NS[lan]}" "${TB_NS[inet]}" <<'PY'
import os, sys
sys.path.insert(0, os.environ["PBXGATE_SOURCE_DIR"] + "/tests/integration")
import probe
lan, inet = sys.argv[1:3]
plan = {lan: [], inet: []}
for ns, zone, v4, v6 in ((lan, "lan", "192.0.2", "2001:db8:1:"), (inet, "internet", "203.0.113", "2001:db8:3:")):
    for fam, src, dst in (("v4", v4 + ".10", v4 + ".1"), ("v6", v6 + ":10", v6 + ":1")):
        for port in (5060, 5160):
            plan[ns].append({"id": "%s-%d-%s" % (zone, port, fam), "proto": "udp", "src": src, "dst": dst,
                             "port": port, "timeout": 1.0})
r = probe.check_in_namespaces(plan)
print(" ".join("%s=%s" % (k, "delivered" if r[k]["ok"] else "dropped") for k in sorted(r)))
PY
)
for word in $results; do
  case ${word%%=*} in
    *-5160-*) expect_eq "sip moved: ${word%%=*}" delivered "${word#*=}" ;;
    *-5060-*) expect_eq "old sip port, claimed by nothing now: ${word%%=*}" dropped "${word#*=}" ;;
  esac
done
expect_eq "number of probes answered" 8 "$(wc -w <<<"$results")"

testbed_engine_stop TERM
expect_eq "engine exit status after SIGTERM" 0 "$TB_ENGINE_RC"
s=$(cat "$stats")
expect_eq "stats: sip accepted from the internet on its new port" true \
  "$(python3 -c 'import json,sys; print(str(json.loads(sys.argv[1])["by_service"]["sip"]["internet"]["accept"] > 0).lower())' "$s")"
finish
