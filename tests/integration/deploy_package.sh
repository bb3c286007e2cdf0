#!/usr/bin/env bash
# The Debian package, the way an admin meets it: build the .deb (cpack, prefix /usr),
# install it with apt on this machine, check the installed layout, run `pbxgate check` on
# the installed site file, `systemd-analyze verify` the installed unit, play systemd for
# the unit's own command lines in a network namespace (steering rules, READY/RELOADING/
# STOPPING, watchdog pings, rules removed at stop) with the engine as the unit's User=
# (the package's `pbxgate` system user) holding only CAP_NET_ADMIN, then purge and check
# nothing is left.
#
# It installs into the real system (that is what it tests), so it refuses to run where
# pbxgate is already installed or /etc/pbxgate exists, and purges in an EXIT trap.
# PBXGATE_DEB=path/to.deb tests a prebuilt package instead of building one. apt runs under
# flock /tmp/pbxgate-dpkg.lock, so concurrent test runs take turns at dpkg.
source "$(dirname "$0")/lib.sh"
source "$PBXGATE_SOURCE_DIR/scripts/lib/testbed.sh"
testbed_require_root
command -v apt-get >/dev/null && command -v dpkg >/dev/null || skip_or_fail "needs apt-get and dpkg"
if dpkg-query -W -f='${Status}' pbxgate 2>/dev/null | grep -q "ok installed" || [ -e /etc/pbxgate ]; then
  skip_or_fail "pbxgate is already installed here (or /etc/pbxgate exists): this test installs and purges the package"
fi

dpkg_lock=/tmp/pbxgate-dpkg.lock
apt_locked() { flock "$dpkg_lock" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 "$@"; }
work=$(mktemp -d /tmp/pbxgate-deploy-package.XXXXXX)
ns=pbxg-deppkg-$$
made_run_dir=false
cleanup() {
  local rc=$?
  ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  if dpkg-query -W -f='${Status}' pbxgate 2>/dev/null | grep -q "installed"; then
    apt_locked purge -y -qq pbxgate >/dev/null 2>&1 || flock "$dpkg_lock" dpkg --purge pbxgate >/dev/null 2>&1 || true
  fi
  $made_run_dir && rm -rf /run/pbxgate
  rm -rf "$work"
  return "$rc"
}
trap cleanup EXIT

# 1. Build the package (the default RelWithDebInfo build, stripped by cpack; binary only, under /usr).
deb=${PBXGATE_DEB:-}
# The build ctest runs from already holds the binary: package it when it was configured for
# /usr (scripts/test does that), instead of building everything a second time.
tested_build=$(dirname "$PBXGATE")
if [ -z "$deb" ] && grep -qx 'CMAKE_INSTALL_PREFIX:PATH=/usr' "$tested_build/CMakeCache.txt" 2>/dev/null; then
  (cd "$tested_build" && cpack -G DEB -B "$work/pkg" >"$work/cpack.log" 2>&1) || { cat "$work/cpack.log" >&2; fail "cpack"; finish; exit 1; }
  deb=$(ls "$work"/pkg/pbxgate_*.deb)
fi
if [ -z "$deb" ]; then
  cmake -S "$PBXGATE_SOURCE_DIR" -B "$work/build" -G Ninja -DCMAKE_INSTALL_PREFIX=/usr \
    -DPBXGATE_BUILD_TESTS=OFF -DPBXGATE_BUILD_BENCH=OFF >/dev/null || { fail "cmake configure"; finish; exit 1; }
  cmake --build "$work/build" -j2 >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; fail "build"; finish; exit 1; }
  (cd "$work/build" && cpack -G DEB >"$work/cpack.log" 2>&1) || { cat "$work/cpack.log" >&2; fail "cpack"; finish; exit 1; }
  deb=$(ls "$work"/build/pbxgate_*.deb)
fi
[ -f "$deb" ] || { fail "no .deb built"; finish; exit 1; }
depends=$(dpkg-deb -f "$deb" Depends)
for dep in libnetfilter-queue1 libmnl0 libspdlog1.10 libtomlplusplus3 liburcu8 libpcap0.8 libsystemd0 libcurl4 iptables; do
  expect_contains "Depends names $dep" "$dep" "$depends"
done
expect_eq "conffiles" "/etc/pbxgate/pbxgate.toml" "$(dpkg-deb -I "$deb" conffiles)"

# 2. Install with apt (dependencies come from the archive when missing).
apt_locked install -y -qq "$deb" >"$work/apt.log" 2>&1 || { cat "$work/apt.log" >&2; fail "apt-get install"; finish; exit 1; }
for f in /usr/sbin/pbxgate /usr/sbin/pbxgate-rules /usr/lib/systemd/system/pbxgate.service /etc/pbxgate/pbxgate.toml \
         /usr/share/pbxgate/policies/freepbx.toml /usr/share/man/man8/pbxgate.8.gz /usr/lib/sysusers.d/pbxgate.conf \
         /usr/share/pbxgate/grafana/pbxgate.json; do
  [ -e "$f" ] && pass || fail "installed file missing: $f"
done
out=$(/usr/sbin/pbxgate check /etc/pbxgate/pbxgate.toml 2>&1) && pass || fail "pbxgate check of the installed site file: $out"
expect_contains "pbxgate check" "/etc/pbxgate/pbxgate.toml: ok:" "$out"
expect_contains "site file starts in monitor mode" "mode monitor" "$out"
expect_eq "the installed binary's version" "$(dpkg-deb -f "$deb" Version)" "$(/usr/sbin/pbxgate --version)"

# The engine's own system user, created by the package: no login, a system uid.
user_line=$(getent passwd pbxgate || true)
[ -n "$user_line" ] && pass || fail "the package created no pbxgate user"
IFS=: read -r _ _ pbxgate_uid pbxgate_gid _ _ pbxgate_shell <<<"$user_line"
if [ -n "$pbxgate_uid" ] && [ "$pbxgate_uid" -gt 0 ] && [ "$pbxgate_uid" -lt 1000 ]; then pass; else fail "pbxgate uid $pbxgate_uid is not a system uid"; fi
case "$pbxgate_shell" in */nologin|*/false) pass ;; *) fail "pbxgate user has a login shell: $pbxgate_shell" ;; esac

# 3. The unit, as systemd reads it. Documentation= is checked only where man exists.
man_check=no
command -v man >/dev/null && man_check=yes
verify=$(systemd-analyze verify --man="$man_check" /usr/lib/systemd/system/pbxgate.service 2>&1) && pass ||
  fail "systemd-analyze verify: $verify"
[ "$man_check" = no ] && echo "note: man not installed: systemd-analyze did not check Documentation=man:pbxgate(8)"

# 4. The unit's own command lines, with systemd played by a harness, in a fresh namespace.
unit=/usr/lib/systemd/system/pbxgate.service
env_line=$(sed -n 's/^Environment=//p' "$unit")
eval "export $env_line"  # PBXGATE_POLICY, PBXGATE_QUEUES
expand() { sed -e 's/^[+-]//' -e "s|\${PBXGATE_POLICY}|$PBXGATE_POLICY|g" -e "s|\${PBXGATE_QUEUES}|$PBXGATE_QUEUES|g"; }
expect_eq "the unit's User=" pbxgate "$(sed -n 's/^User=//p' "$unit")"
expect_eq "the unit's AmbientCapabilities=" CAP_NET_ADMIN "$(sed -n 's/^AmbientCapabilities=//p' "$unit")"
# What systemd does for User= plus AmbientCapabilities=: that uid and gid, the capability
# as an ambient one. Commands prefixed "+" run as root, outside it.
as_unit_user=(setpriv --reuid=pbxgate --regid=pbxgate --init-groups --inh-caps=+net_admin --ambient-caps=+net_admin)
start=$(sed -n 's/^ExecStart=//p' "$unit" | expand)
stop_post=$(sed -n 's/^ExecStopPost=//p' "$unit" | expand)
reload_cmd=$(sed -n 's/^ExecReload=//p' "$unit" | expand)
[ "$(wc -l <<<"$reload_cmd")" = 1 ] && pass || fail "expected one ExecReload line, got: $reload_cmd"
[ -d /run/pbxgate ] || { mkdir -p /run/pbxgate && made_run_dir=true; }  # RuntimeDirectory=, owned by User=
chown pbxgate:pbxgate /run/pbxgate
chmod 755 "$work"  # the unit's user reaches the harness's notify socket here
ip netns add "$ns"
ip -n "$ns" link set lo up
while read -r raw; do
  cmd=$(expand <<<"$raw")
  runner=("${as_unit_user[@]}")
  [ "${raw:0:1}" = "+" ] && runner=()
  # shellcheck disable=SC2086 # a unit command line is words
  ip netns exec "$ns" env PATH=/usr/sbin:/usr/bin:/sbin:/bin "${runner[@]}" $cmd >"$work/pre.log" 2>&1 && pass || { cat "$work/pre.log" >&2; fail "ExecStartPre: $cmd"; }
done < <(sed -n 's/^ExecStartPre=//p' "$unit")
expect_contains "steering rules after ExecStartPre" "PBXGATE-INPUT" "$(ip netns exec "$ns" iptables -S)"
# shellcheck disable=SC2086
r=$(ip netns exec "$ns" env HARNESS_RELOAD_CMD="setpriv --reuid=pbxgate --regid=pbxgate --init-groups $reload_cmd" \
      python3 "$PBXGATE_SOURCE_DIR/tests/integration/deploy_notify_harness.py" \
      "$work/notify.sock" "$work/engine.log" -- "${as_unit_user[@]}" $start)
expect_eq "READY=1 once bound" True "$(json_get "$r" ready_before_hup)"
expect_eq "RELOADING=1 then READY=1 around ExecReload" True "$(json_get "$r" reload_pair)"
expect_eq "ExecReload ($reload_cmd) exit code" 0 "$(json_get "$r" reload_exit)"
expect_eq "STOPPING=1 at SIGTERM" True "$(json_get "$r" stopping)"
expect_eq "exit code after SIGTERM" 0 "$(json_get "$r" exit_code)"
pings=$(json_get "$r" watchdog_pings)
if [ "$pings" -ge 2 ]; then pass; else fail "watchdog pings in 2 s with WatchdogSec=1.5s: expected >= 2, got $pings ($r)"; fi
expect_contains "STATUS names the generation" "STATUS=generation 1;" "$(json_get "$r" status)"
expect_contains "STATUS after the reload" "STATUS=generation 2; 0 packets" "$(json_get "$r" status)"
expect_eq "the engine's uids (real, effective, saved, fs)" "$pbxgate_uid $pbxgate_uid $pbxgate_uid $pbxgate_uid" "$(json_get "$r" uid)"
expect_eq "the engine's effective capabilities: CAP_NET_ADMIN alone" 0000000000001000 "$(json_get "$r" cap_eff)"
# shellcheck disable=SC2086
ip netns exec "$ns" env PATH=/usr/sbin:/usr/bin:/sbin:/bin $stop_post >"$work/stop.log" 2>&1 && pass || fail "ExecStopPost: $stop_post"
if ip netns exec "$ns" iptables -S | grep -q PBXGATE; then fail "steering rules left after ExecStopPost"; else pass; fi
[ -s "$work/engine.log" ] && grep -q "queue(s) bound" "$work/engine.log" && pass || fail "engine log: $(cat "$work/engine.log")"

# 5. Purge: nothing of pbxgate is left.
apt_locked purge -y -qq pbxgate >"$work/purge.log" 2>&1 && pass || { cat "$work/purge.log" >&2; fail "apt-get purge"; }
for f in /usr/sbin/pbxgate /usr/sbin/pbxgate-rules /usr/lib/systemd/system/pbxgate.service /etc/pbxgate /usr/share/pbxgate \
         /usr/lib/sysusers.d/pbxgate.conf; do
  [ -e "$f" ] && fail "left after purge: $f" || pass
done
finish
