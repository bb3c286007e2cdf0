#!/usr/bin/env bash
# The shipped Grafana dashboards (packaging/grafana/*.json) against a real engine: an engine
# in the namespace testbed with the metrics endpoint, SIP protection, a blocklist file and a
# [crowdsec] table gets a little traffic (so labelled series exist), is scraped, and every
# metric name read by every query of every dashboard must be exported (tests/integration/dashboard_check.py). The
# checker itself must fail on a dashboard naming a metric that does not exist.
# Exit 0 pass, 1 fail, 77 skipped (not root). About 10 s.
source "$(dirname "$0")/lib.sh"
source "$PBXGATE_SOURCE_DIR/scripts/lib/testbed.sh"
testbed_require_root
trap testbed_cleanup EXIT
testbed_start "dash"
check=$PBXGATE_SOURCE_DIR/tests/integration/dashboard_check.py
traffic=$PBXGATE_SOURCE_DIR/tests/integration/blocklist_traffic.py
log=$TB_TMP/engine.log
policy=$TB_TMP/site.toml
printf '# a feed\n203.0.113.99\n' >"$TB_TMP/feed.txt"
# [crowdsec] with a local API nobody serves (the discard port on loopback): its families
# exist (up 0) without a CrowdSec install.
printf 'not-a-real-key\n' >"$TB_TMP/bouncer.key"
chmod 600 "$TB_TMP/bouncer.key"
# Features whose metrics only exist when configured go here, so the scrape holds them.
cat >"$policy" <<TOML
extends = "$PBXGATE_SOURCE_DIR/tests/data/policies/testbed.toml"
[engine]
metrics = "127.0.0.1:9477"
[blocklists]
files = ["feed.txt"]
[crowdsec]
api_url = "http://127.0.0.1:9/"
bouncer_key_file = "bouncer.key"
TOML
testbed_rules "$policy" --fail open || { echo "FAIL: pbxgate-rules apply" >&2; exit 1; }
testbed_serve "" 5060
testbed_engine_start "$log" --policy "$policy" --fail open --state-dir "$TB_TMP/state"
scrape() { ip netns exec "$TB_PBX" python3 -c 'import urllib.request
print(urllib.request.urlopen("http://127.0.0.1:9477/metrics", timeout=5).read().decode(), end="")'; }
tb_wait_for 5 scrape >/dev/null || fail "no metrics endpoint"
ip netns exec "${TB_NS[inet]}" python3 "$traffic" stream 203.0.113.10 203.0.113.1 5060 0.5 200 >/dev/null
ip netns exec "${TB_NS[lan]}" python3 "$traffic" stream 192.0.2.10 192.0.2.1 5061 0.2 100 >/dev/null
sleep 1.2  # the pre-filter's counters are read once a second
scrape >"$TB_TMP/scrape.txt"
echo "scrape: $(grep -c '^pbxgate_' "$TB_TMP/scrape.txt") samples"
dashboards=("$PBXGATE_SOURCE_DIR"/packaging/grafana/*.json)
[ "${#dashboards[@]}" -ge 1 ] && [ -f "${dashboards[0]}" ] && pass || fail "no dashboard in packaging/grafana"
out=$(python3 "$check" "$TB_TMP/scrape.txt" "${dashboards[@]}" 2>&1) && pass || fail "dashboard queries name metrics the engine does not export: $out"
echo "$out"
# The checker can fail: a dashboard naming a metric nobody exports.
python3 - "${dashboards[0]}" "$TB_TMP/bad.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["panels"].append({"type": "timeseries", "title": "bogus", "targets": [{"refId": "A",
    "expr": 'sum by (zone) (rate(pbxgate_no_such_metric_total{instance=~"$instance"}[5m]))'}]})
json.dump(d, open(sys.argv[2], "w"))
PY
out=$(python3 "$check" "$TB_TMP/scrape.txt" "$TB_TMP/bad.json" 2>&1) && fail "the checker accepted a bogus metric" || pass
expect_contains "the checker names the bogus metric" "pbxgate_no_such_metric_total is not exported" "$out"
testbed_engine_stop TERM
expect_eq "engine exit status" 0 "$TB_ENGINE_RC"
finish
