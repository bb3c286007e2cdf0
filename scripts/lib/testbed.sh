# A network-namespace testbed: a PBX host and three clients, one per zone.
# Sourced by scripts/demo, scripts/bench and tests/integration/*.sh.
#
#   lan client      192.0.2.10      2001:db8:1::10  ─┐
#   trusted client  198.51.100.10   2001:db8:2::10  ─┼─ veths ─ PBX 192.0.2.1 / 198.51.100.1 / 203.0.113.1
#   internet client 203.0.113.10    2001:db8:3::10  ─┘          2001:db8:1::1 / 2::1 / 3::1
#                   203.0.113.200   2001:db8:3::200   (a second internet address, blocked by the test policy)
#
# Only documentation ranges, only inside namespaces we create; testbed_down removes them
# all (call it from an EXIT trap so it runs even when a test fails).

TB_ZONES=(lan trusted inet)
declare -A TB_V4=([lan]=192.0.2 [trusted]=198.51.100 [inet]=203.0.113)
declare -A TB_V6=([lan]=2001:db8:1 [trusted]=2001:db8:2 [inet]=2001:db8:3)
TB_BLOCKED_V4=203.0.113.200
TB_BLOCKED_V6=2001:db8:3::200

# testbed_up TAG: sets TB_PBX and TB_NS[zone] (namespace names).
testbed_up() {
  local tag=$1 z
  TB_TAG=$tag
  TB_PBX=pbxg-$tag-pbx
  declare -gA TB_NS
  testbed_down "$tag" 2>/dev/null || true
  ip netns add "$TB_PBX"
  ip -n "$TB_PBX" link set lo up
  ip netns exec "$TB_PBX" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
  for z in "${TB_ZONES[@]}"; do
    TB_NS[$z]=pbxg-$tag-$z
    ip netns add "${TB_NS[$z]}"
    ip -n "${TB_NS[$z]}" link set lo up
    ip netns exec "${TB_NS[$z]}" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
    ip link add "${z}0" netns "$TB_PBX" type veth peer name eth0 netns "${TB_NS[$z]}"
    ip -n "$TB_PBX" addr add "${TB_V4[$z]}.1/24" dev "${z}0"
    ip -n "$TB_PBX" addr add "${TB_V6[$z]}::1/64" dev "${z}0" nodad
    ip -n "$TB_PBX" link set "${z}0" up
    ip -n "${TB_NS[$z]}" addr add "${TB_V4[$z]}.10/24" dev eth0
    ip -n "${TB_NS[$z]}" addr add "${TB_V6[$z]}::10/64" dev eth0 nodad
    ip -n "${TB_NS[$z]}" link set eth0 up
  done
  ip -n "${TB_NS[inet]}" addr add "$TB_BLOCKED_V4/24" dev eth0
  ip -n "${TB_NS[inet]}" addr add "$TB_BLOCKED_V6/64" dev eth0 nodad
}

# testbed_down TAG: removes every namespace of the testbed (their veths go with them).
testbed_down() {
  local tag=${1:-$TB_TAG} ns
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^pbxg-$tag-" || true); do
    # Kill what still runs inside, then delete.
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
  done
}

# The source address of a zone's client: tb_src ZONE 4|6
tb_src() { if [ "$2" = 6 ]; then echo "${TB_V6[$1]}::10"; else echo "${TB_V4[$1]}.10"; fi; }
# The PBX address a zone's client talks to: tb_pbx ZONE 4|6
tb_pbx() { if [ "$2" = 6 ]; then echo "${TB_V6[$1]}::1"; else echo "${TB_V4[$1]}.1"; fi; }

# testbed_require_root: root is needed; outside CI a test without it is skipped (exit 77),
# under CI=true it fails, so a CI machine that cannot make namespaces is never green.
testbed_require_root() {
  if [ "$(id -u)" -ne 0 ] || ! ip netns add "pbxg-probe-$$" 2>/dev/null; then
    if [ "${CI:-}" = "true" ]; then echo "FAIL: cannot create network namespaces (root needed)" >&2; exit 1; fi
    echo "SKIP: network namespaces need root" >&2; exit 77
  fi
  ip netns del "pbxg-probe-$$"
}
