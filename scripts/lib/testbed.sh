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

# --- Running the engine and the probes in a testbed (tests/integration/e2e_*.sh, scripts/demo)
# Every helper below is bounded in time, and everything it starts is recorded so that
# testbed_cleanup (call it from an EXIT trap) kills it, even when a test fails midway.
TB_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TB_PROBE=$TB_SRC/tests/integration/probe.py
TB_PIDS=()
TB_ENGINE_PID=""
TB_TMP=""

# testbed_start TAG: testbed_up, plus a private temp dir ($TB_TMP) for logs and stats.
testbed_start() {
  # The pid in the tag keeps concurrent runs (two checkouts, a chroot) out of each other's
  # namespaces: namespace names are global to the kernel.
  testbed_up "$1$$"
  TB_TMP=$(mktemp -d "/tmp/pbxgate-$1.XXXXXX")
}

# testbed_cleanup: kills every process the helpers started, removes the namespaces (and the
# firewall rules inside them) and the temp dir. Keeps the caller's exit status.
testbed_cleanup() {
  local rc=$? p
  for p in "${TB_PIDS[@]}" $TB_ENGINE_PID; do kill -9 "$p" 2>/dev/null || true; done
  for p in "${TB_PIDS[@]}" $TB_ENGINE_PID; do { wait "$p"; } 2>/dev/null || true; done
  [ -n "${TB_TAG:-}" ] && testbed_down "$TB_TAG"
  if [ -n "$TB_TMP" ] && [ -z "${TB_KEEP_TMP:-}" ]; then rm -rf "$TB_TMP"; fi
  return "$rc"
}

# tb_wait_for SECONDS COMMAND...: polls every 0.05 s until COMMAND succeeds; 1 on timeout.
tb_wait_for() {
  local tries=$(($1 * 20)) i
  shift
  for ((i = 0; i < tries; i++)); do
    if "$@"; then return 0; fi
    sleep 0.05
  done
  return 1
}

# testbed_rules POLICY [pbxgate-rules apply options...]: the steering rules, in the PBX namespace.
testbed_rules() {
  local policy=$1
  shift
  ip netns exec "$TB_PBX" env PBXGATE="$PBXGATE" bash "$TB_SRC/scripts/pbxgate-rules" apply --policy "$policy" "$@" 2>/dev/null
}

# testbed_serve TCP_PORTS UDP_PORTS [NAMESPACE]: probe.py serve (TCP accept, UDP echo) in the
# PBX namespace (or NAMESPACE), waits until it listens.
testbed_serve() {
  local ns=${3:-$TB_PBX} ready
  ready=$TB_TMP/serve-ready-$RANDOM
  ip netns exec "$ns" python3 "$TB_PROBE" serve --tcp "$1" --udp "$2" --ready "$ready" &
  TB_PIDS+=($!)
  tb_wait_for 10 test -f "$ready" || { echo "testbed: probe server did not start" >&2; return 1; }
}

# testbed_engine_start LOG [pbxgate run options...]: starts the engine in the PBX namespace,
# output to LOG; returns once its queue is bound (TB_ENGINE_PID is its pid).
testbed_engine_start() {
  local log=$1
  shift
  ip netns exec "$TB_PBX" "$PBXGATE" run "$@" >>"$log" 2>&1 &
  TB_ENGINE_PID=$!
  if ! tb_wait_for 10 grep -qs "queue(s) bound" "$log"; then
    echo "testbed: the engine did not bind its queue; its log:" >&2
    cat "$log" >&2
    return 1
  fi
}

# testbed_engine_stop [SIGNAL]: signals the engine (default TERM), waits (at most 10 s, then
# SIGKILL) and sets TB_ENGINE_RC to its exit status (128+N for signal N). Not in $(...):
# only this shell can wait for its child.
testbed_engine_stop() {
  local sig=${1:-TERM} pid=$TB_ENGINE_PID rc=0
  TB_ENGINE_RC=""
  [ -n "$pid" ] || return 1
  # One group with stderr silenced: bash reports "Killed" whenever it reaps the child.
  {
    kill -s "$sig" "$pid" || true
    if ! tb_wait_for 10 eval '! kill -0 '"$pid"; then kill -9 "$pid" || true; fi
    wait "$pid" || rc=$?
  } 2>/dev/null
  TB_ENGINE_PID=""
  # shellcheck disable=SC2034 # read by the caller
  TB_ENGINE_RC=$rc
}

# testbed_engine_stats FILE: asks the running engine for a report (SIGUSR1) and waits until
# FILE (its --stats-file) has been rewritten.
testbed_engine_stats() {
  local file=$1
  rm -f "$file"  # the engine writes FILE.tmp then renames it, so FILE appears whole
  kill -USR1 "$TB_ENGINE_PID"
  tb_wait_for 5 test -s "$file" || { echo "testbed: no stats file $file" >&2; return 1; }
}

# testbed_probe NAMESPACE: probe.py check in NAMESPACE (probes JSON on stdin, results on stdout).
testbed_probe() { ip netns exec "$1" python3 "$TB_PROBE" check; }
