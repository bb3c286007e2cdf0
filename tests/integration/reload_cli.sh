#!/usr/bin/env bash
# `pbxgate reload` when there is no engine to talk to (no root needed): no pid file, a
# stale pid -> exit 2; a live process that is not a pbxgate engine (no reload status
# beside the pid file) -> exit 1, and it is NOT signalled. The engine side is in
# reload_e2e.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/integration/lib.sh
source "$here/lib.sh"

work=$(mktemp -d /tmp/pbxgate-reload-cli.XXXXXX)
bystander=""
cleanup() {
    [ -n "$bystander" ] && kill "$bystander" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# reload_case WHAT PIDFILE EXPECTED_EXIT EXPECTED_TEXT
reload_case() {
    local status=0 out
    out=$("$PBXGATE" reload --pid-file "$2" --timeout 1 2>&1) || status=$?
    expect_eq "$1: exit" "$3" "$status"
    expect_contains "$1: message" "$4" "$out"
}

reload_case "no pid file" "$work/none.pid" 2 "no engine running: cannot read a pid from $work/none.pid"

echo "not-a-number" >"$work/garbage.pid"
reload_case "a pid file without a pid" "$work/garbage.pid" 2 "no engine running"

# A process that has exited: its pid is free (pids are not reused this fast).
sh -c 'exit 0' &
dead=$!
wait "$dead"
echo "$dead" >"$work/stale.pid"
reload_case "a stale pid file" "$work/stale.pid" 2 "process $dead named by $work/stale.pid is gone"

# A live process that is no engine: SIGHUP would kill it, so it must not be signalled.
sleep 30 &
bystander=$!
echo "$bystander" >"$work/other.pid"
reload_case "a process with no reload status" "$work/other.pid" 1 "has no reload status in $work/other.reload-status: not signalled"
sleep 0.2
if kill -0 "$bystander" 2>/dev/null; then pass; else fail "the bystander process was signalled"; fi

# A status file left by another engine (another pid) is not trusted either.
printf 'pid 1\nattempts 0\nsignal_attempts 0\nok 1\ngeneration 1\n' >"$work/other.reload-status"
reload_case "a status file of another process" "$work/other.pid" 1 "not signalled"
if kill -0 "$bystander" 2>/dev/null; then pass; else fail "the bystander process was signalled"; fi

finish
