#!/usr/bin/env bash
# Router placement, as the README's guide sets it up: pbxgate on a Linux router in front of
# the PBX (FORWARD path), guarding only the PBX's addresses. Three namespaces:
#
#   internet client 203.0.113.10, 2001:db8:3::10 ─ router ─ PBX 192.0.2.10, 2001:db8:1::10
#   admin office    198.51.100.7 (trusted)          (forwarding)   192.0.2.20 (another host: not protected)
#
# Probes from the internet side: SIP to the PBX passes, SSH to the PBX is dropped (v4 and
# v6), SSH from the trusted office passes, a port no service claims is dropped, and SSH to
# the unprotected host passes without being queued. The metrics endpoint counts what
# the router judged; stopping the engine and removing the rules restores plain forwarding.
source "$(dirname "$0")/lib.sh"
source "$PBXGATE_SOURCE_DIR/scripts/lib/testbed.sh"
testbed_require_root
TB_TAG=rtr$$
TB_TMP=$(mktemp -d /tmp/pbxgate-rtr.XXXXXX)
trap testbed_cleanup EXIT
testbed_down "$TB_TAG" 2>/dev/null || true

inet=pbxg-$TB_TAG-inet router=pbxg-$TB_TAG-router pbx=pbxg-$TB_TAG-pbx
for ns in $inet $router $pbx; do
  ip netns add $ns
  ip -n $ns link set lo up
  ip netns exec $ns sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
done
ip link add wan0 netns $router type veth peer name eth0 netns $inet
ip link add lan0 netns $router type veth peer name eth0 netns $pbx
ip -n $router addr add 203.0.113.1/24 dev wan0
ip -n $router addr add 198.51.100.1/24 dev wan0
ip -n $router addr add 2001:db8:3::1/64 dev wan0 nodad
ip -n $router addr add 192.0.2.254/24 dev lan0
ip -n $router addr add 2001:db8:1::fe/64 dev lan0 nodad
ip -n $inet addr add 203.0.113.10/24 dev eth0
ip -n $inet addr add 198.51.100.7/24 dev eth0
ip -n $inet addr add 2001:db8:3::10/64 dev eth0 nodad
ip -n $pbx addr add 192.0.2.10/24 dev eth0
ip -n $pbx addr add 192.0.2.20/24 dev eth0
ip -n $pbx addr add 2001:db8:1::10/64 dev eth0 nodad
for ns in $inet $router $pbx; do for dev in $(ip -n $ns -o link show | awk -F': ' '$2 != "lo" {sub(/@.*/, "", $2); print $2}'); do ip -n $ns link set "$dev" up; done; done
ip -n $inet route add default via 203.0.113.1
ip -n $inet -6 route add default via 2001:db8:3::1
ip -n $pbx route add default via 192.0.2.254
ip -n $pbx -6 route add default via 2001:db8:1::fe
ip netns exec $router sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
# Resolve every neighbour before the probes, so their timeouts measure the filter, not ND/ARP.
for target in 203.0.113.10 198.51.100.7 2001:db8:3::10 192.0.2.10 192.0.2.20 2001:db8:1::10; do
  ip netns exec $router ping -c1 -W2 -q "$target" >/dev/null 2>&1 || true
done
ip netns exec $inet ping -c1 -W2 -q 203.0.113.1 >/dev/null 2>&1 || true
ip netns exec $inet ping -c1 -W2 -q 2001:db8:3::1 >/dev/null 2>&1 || true

policy=$TB_TMP/router.toml
cat >"$policy" <<TOML
extends = "$PBXGATE_SOURCE_DIR/policies/freepbx.toml"
[zones]
lan = ["192.0.2.0/24", "2001:db8:1::/64"]
trusted = ["198.51.100.0/24"]
[engine]
placement = "router"
protected = ["192.0.2.10", "2001:db8:1::10"]
metrics = "127.0.0.1:9477"
TOML
"$PBXGATE" check "$policy" >/dev/null || { fail "router policy does not check"; finish; exit 1; }

ip netns exec $router env PBXGATE="$PBXGATE" bash "$PBXGATE_SOURCE_DIR/scripts/pbxgate-rules" apply --policy "$policy" 2>/dev/null ||
  { fail "pbxgate-rules apply (router placement)"; finish; exit 1; }
expect_contains "FORWARD jumps to pbxgate's chain" "-A FORWARD -j PBXGATE-FORWARD" "$(ip netns exec $router iptables -S FORWARD)"
if ip netns exec $router iptables -S INPUT | grep -q PBXGATE; then fail "router placement touched INPUT"; else pass; fi

testbed_serve 22 5060,45000 $pbx
log=$TB_TMP/engine.log
ip netns exec $router "$PBXGATE" run --policy "$policy" >>"$log" 2>&1 &
TB_ENGINE_PID=$!
tb_wait_for 10 grep -qs "queue(s) bound" "$log" || { cat "$log" >&2; fail "engine did not bind"; finish; exit 1; }

probes() {
  python3 - $inet <<'PY'
import json, os, sys
sys.path.insert(0, os.environ["PBXGATE_SOURCE_DIR"] + "/tests/integration")
import probe
def p(i, proto, src, dst, port):
    return {"id": i, "proto": proto, "src": src, "dst": dst, "port": port, "timeout": 2.0}
plan = {sys.argv[1]: [
    p("internet-sip-v4", "udp", "203.0.113.10", "192.0.2.10", 5060),
    p("internet-sip-v6", "udp", "2001:db8:3::10", "2001:db8:1::10", 5060),
    p("internet-ssh-v4", "tcp", "203.0.113.10", "192.0.2.10", 22),
    p("internet-ssh-v6", "tcp", "2001:db8:3::10", "2001:db8:1::10", 22),
    p("internet-unclaimed-v4", "udp", "203.0.113.10", "192.0.2.10", 45000),
    p("trusted-ssh-v4", "tcp", "198.51.100.7", "192.0.2.10", 22),
    p("internet-ssh-unprotected-host", "tcp", "203.0.113.10", "192.0.2.20", 22),
]}
r = probe.check_in_namespaces(plan)
print(" ".join("%s=%s" % (k, "delivered" if r[k]["ok"] else "dropped") for k in sorted(r)))
PY
}
declare -A expected=(
  [internet-sip-v4]=delivered [internet-sip-v6]=delivered
  [internet-ssh-v4]=dropped [internet-ssh-v6]=dropped [internet-unclaimed-v4]=dropped
  [trusted-ssh-v4]=delivered [internet-ssh-unprotected-host]=delivered
)
results=$(probes)
for word in $results; do expect_eq "router guards the PBX: ${word%%=*}" "${expected[${word%%=*}]}" "${word#*=}"; done
expect_eq "number of probes answered" "${#expected[@]}" "$(wc -w <<<"$results")"

m=$(ip netns exec $router python3 -c 'import urllib.request
print(urllib.request.urlopen("http://127.0.0.1:9477/metrics", timeout=5).read().decode(), end="")')
metric() { awk -v s="$1" '$1 == s { print $2 }' <<<"$m"; }
positive() { local v; v=$(metric "$2"); if [ "${v:-0}" -ge 1 ] 2>/dev/null; then pass; else fail "$1: $2 = '${v}'"; fi; }
positive "ssh from the internet dropped at the router" 'pbxgate_packets_total{verdict="drop",service="ssh",zone="internet"}'
positive "ssh from the trusted office accepted" 'pbxgate_packets_total{verdict="accept",service="ssh",zone="trusted"}'
positive "sip from the internet accepted" 'pbxgate_packets_total{verdict="accept",service="sip",zone="internet"}'
# Unprotected destinations never reach the queue: the rules send only the PBX's traffic.
expect_eq "not_protected decisions (nothing else is queued)" 0 "$(metric 'pbxgate_decisions_total{reason="not_protected"}')"

testbed_engine_stop TERM
expect_eq "engine exit status after SIGTERM" 0 "$TB_ENGINE_RC"
ip netns exec $router env PBXGATE="$PBXGATE" bash "$PBXGATE_SOURCE_DIR/scripts/pbxgate-rules" remove 2>/dev/null && pass || fail "pbxgate-rules remove"
if ip netns exec $router iptables -S | grep -q PBXGATE; then fail "rules left after remove"; else pass; fi
# Without the engine and its rules the router forwards everything again.
results=$(probes)
expect_contains "plain forwarding after remove" "internet-ssh-v4=delivered" "$results"
finish
