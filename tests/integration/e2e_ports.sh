#!/usr/bin/env bash
# End to end, every row of ../shared/docs/freepbx-ports.md: the real engine on NFQUEUE in the
# namespace testbed, real sockets from every zone (lan, trusted, internet, the blocked
# address, and from inside the PBX: 127.0.0.1/::1 and the host's own address over lo),
# IPv4 and IPv6. UDP: delivered when the echo comes back; TCP: delivered when connect()
# succeeds. Besides the rows: RTP edges (10000, 20000 in; 9999, 20001 out), local-reserved
# edges (6000, 6199 in; 5999, 6200 unclaimed), UDPTL edges, and ports no service claims.
# The expected outcome is the doc's exposure column transcribed below (the same mapping as
# tests/unit/test_freepbx_policy.cpp), never `pbxgate explain`. Passes only with zero
# mismatches; then checks the engine's stats file is consistent with what was sent.
source "$(dirname "$0")/lib.sh"
source "$PBXGATE_SOURCE_DIR/scripts/lib/testbed.sh"
testbed_require_root
trap testbed_cleanup EXIT
testbed_start e2eports
policy=$PBXGATE_SOURCE_DIR/tests/data/policies/testbed-media-open.toml

matrix_py=$(
  cat <<'PY'
import json, os, sys
sys.path.insert(0, os.environ["PROBE_DIR"])
import probe

# The doc's exposure column -> zones allowed (the doc's first table).
ALLOWED = {
    "lan_only": {"localhost", "trusted", "lan"},
    "limit": {"localhost", "trusted", "lan"},
    "disabled": {"localhost"},
    "local": {"localhost"},
    "open": {"localhost", "trusted", "lan", "internet"},
}
# service, protocols, ports probed, exposure: one line per row of the doc.
ROWS = [
    ("ssh", "tcp", [22], "lan_only"),
    ("admin-http", "tcp", [80], "disabled"),
    ("admin-https", "tcp", [443], "limit"),
    ("openvpn", "tcp+udp", [1194], "open"),        # TCP per the article, UDP per OpenVPN
    ("sip", "udp", [5060], "open"),
    ("sip-tls", "tcp", [5061], "open"),
    ("rtp", "udp", [10000, 15000, 20000], "open"),  # both edges and a middle
    ("ucp-http", "tcp", [81], "disabled"),
    ("ucp-https", "tcp", [4443], "open"),
    ("webrtc", "tcp", [8088], "lan_only"),
    ("webrtc-tls", "tcp", [8089], "open"),
    ("node", "tcp", [8001], "lan_only"),
    ("node-tls", "tcp", [8003], "open"),
    ("provisioning-http", "tcp", [84], "lan_only"),
    ("provisioning-https", "tcp", [1443], "open"),
    ("ftp", "tcp", [21], "lan_only"),
    ("tftp", "tcp+udp", [69], "lan_only"),          # TCP per the article, UDP per TFTP
    ("phone-apps-http", "tcp", [82], "lan_only"),
    ("phone-apps-https", "tcp", [3443], "open"),
    ("talk-node", "tcp", [8443], "local"),
    ("sangoma-phone", "tcp", [6443], "open"),
    ("zulu", "tcp", [8002], "open"),
    ("local-reserved", "tcp+udp", [6000, 6199], "local"),
    ("iax", "udp", [4569], "lan_only"),
    ("udptl", "udp", [4000, 4999], "open"),
]
# Ports no service claims: just outside the ranges, and the other protocol of a row.
UNCLAIMED = [("udp", p) for p in (9999, 20001, 5999, 6200, 3999, 5000, 45000, 22, 5061)] + \
            [("tcp", p) for p in (5999, 6200, 45000, 5060, 10000, 4569)]

ns = json.loads(os.environ["TB_NS_JSON"])
# zone label, expected zone, namespace, (src, dst) for IPv4 and IPv6
SOURCES = [
    ("lan", "lan", ns["lan"], ("192.0.2.10", "192.0.2.1"), ("2001:db8:1::10", "2001:db8:1::1")),
    ("trusted", "trusted", ns["trusted"], ("198.51.100.10", "198.51.100.1"), ("2001:db8:2::10", "2001:db8:2::1")),
    ("internet", "internet", ns["inet"], ("203.0.113.10", "203.0.113.1"), ("2001:db8:3::10", "2001:db8:3::1")),
    ("blocked", "blocked", ns["inet"], ("203.0.113.200", "203.0.113.1"), ("2001:db8:3::200", "2001:db8:3::1")),
    ("loopback", "localhost", ns["pbx"], ("127.0.0.1", "127.0.0.1"), ("::1", "::1")),
    ("self-on-lo", "localhost", ns["pbx"], ("192.0.2.1", "192.0.2.1"), ("2001:db8:1::1", "2001:db8:1::1")),
]

def cases():
    for service, protos, ports, exposure in ROWS:
        for proto in protos.split("+"):
            for port in ports:
                yield service, proto, port, ALLOWED[exposure]
    for proto, port in UNCLAIMED:
        yield "(none)", proto, port, {"localhost"}  # localhost_default accept, default drop

if sys.argv[1] == "ports":
    tcp = sorted({c[2] for c in cases() if c[1] == "tcp"})
    udp = sorted({c[2] for c in cases() if c[1] == "udp"})
    print(",".join(map(str, tcp)), ",".join(map(str, udp)))
    sys.exit(0)

plan, expected = {}, {}
for label, zone, namespace, v4, v6 in SOURCES:
    for fam, (src, dst) in (("v4", v4), ("v6", v6)):
        for service, proto, port, zones in cases():
            pid = "|".join([label, fam, "%d/%s" % (port, proto), service])
            plan.setdefault(namespace, []).append(
                {"id": pid, "proto": proto, "src": src, "dst": dst, "port": port, "timeout": 1.0})
            expected[pid] = zone != "blocked" and zone in zones
results = probe.check_in_namespaces(plan)
mismatches = [(pid, expected[pid], results.get(pid, {}).get("ok")) for pid in sorted(expected)
              if results.get(pid, {}).get("ok") != expected[pid]]
word = lambda ok: {True: "delivered", False: "dropped", None: "no answer"}[ok]
per_zone = {}
for pid, exp in expected.items():
    z = pid.split("|")[0]
    n, d = per_zone.get(z, (0, 0))
    per_zone[z] = (n + 1, d + (1 if results.get(pid, {}).get("ok") else 0))
for z, (n, d) in per_zone.items():
    print("  %-10s %3d probes, %3d delivered" % (z, n, d))
if mismatches:
    print("%-10s %-3s %-10s %-18s %-10s %s" % ("zone", "ip", "port", "service", "expected", "got"))
    for pid, exp, got in mismatches:
        z, fam, port, service = pid.split("|")
        print("%-10s %-3s %-10s %-18s %-10s %s" % (z, fam, port, service, word(exp), word(got)))
print("%d probes, %d mismatches" % (len(expected), len(mismatches)))
sys.exit(1 if mismatches else 0)
PY
)
export PROBE_DIR=$PBXGATE_SOURCE_DIR/tests/integration
export TB_NS_JSON="{\"lan\":\"${TB_NS[lan]}\",\"trusted\":\"${TB_NS[trusted]}\",\"inet\":\"${TB_NS[inet]}\",\"pbx\":\"$TB_PBX\"}"

read -r tcp_ports udp_ports < <(python3 -c "$matrix_py" ports)
testbed_rules "$policy" || { echo "FAIL: pbxgate-rules apply" >&2; exit 1; }
testbed_serve "$tcp_ports" "$udp_ports"
stats=$TB_TMP/stats.json
testbed_engine_start "$TB_TMP/engine.log" --policy "$policy" --stats-file "$stats"

if python3 -c "$matrix_py" run; then pass; else fail "delivery differs from the ports doc (table above)"; fi

testbed_engine_stop TERM
expect_eq "engine exit status after SIGTERM" 0 "$TB_ENGINE_RC"
[ -s "$stats" ] || { fail "no stats file written at exit"; finish; exit 1; }
# The stats file must agree with itself and show the verdicts the probes caused.
problems=$(python3 - "$stats" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
out = []
def need(cond, what):
    if not cond: out.append(what)
cell = lambda svc, z, v: s["by_service"].get(svc, {}).get(z, {}).get(v, 0)
need(s["drop"] > 0, "drop > 0")
need(s["would_drop"] == 0, "would_drop == 0 in enforce mode")
need(s["accept"] + s["drop"] == s["packets"], "accept + drop == packets")
need(sum(s["by_reason"].values()) == s["packets"], "sum(by_reason) == packets")
need(len(s["by_service"]) > 10, "by_service has entries for the services probed")
tot = [sum(c[v] for zones in s["by_service"].values() for c in zones.values()) for v in ("accept", "drop")]
need(tot == [s["accept"], s["drop"]], "by_service sums == accept, drop")
for svc, z, v in [("ssh", "internet", "drop"), ("ssh", "lan", "accept"), ("admin-http", "lan", "drop"),
                  ("sip", "internet", "accept"), ("rtp", "internet", "accept"), ("none", "blocked", "drop"),
                  ("talk-node", "localhost", "accept"), ("talk-node", "trusted", "drop"),
                  ("local-reserved", "internet", "drop"), ("none", "localhost", "accept")]:
    need(cell(svc, z, v) > 0, "by_service.%s.%s.%s > 0" % (svc, z, v))
need(s["by_reason"].get("blocked", 0) > 0 and s["by_reason"].get("zone_not_allowed", 0) > 0
     and s["by_reason"].get("no_service", 0) > 0, "by_reason has blocked, zone_not_allowed, no_service")
print("; ".join(out))
PY
)
expect_eq "stats file consistency (failed conditions)" "" "$problems"
if grep -q "drop (zone_not_allowed)" "$TB_TMP/engine.log"; then pass; else fail "engine log has no drop lines"; fi
finish
