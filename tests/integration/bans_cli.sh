#!/usr/bin/env bash
# `pbxgate bans` against the real engine: its control socket in --runtime-dir (0700
# directory, 0600 socket), a request answered by a running engine in the namespace
# testbed, "no engine running" (exit 3) when none is, usage errors (exit 2), a non-root
# peer refused (SO_PEERCRED) even when the file mode would let it in, and the socket gone
# after the engine stops. Without SIP protection in the engine (`pbxgate check` refuses a
# [sip] section) the bans.* commands answer "SIP protection not enabled" (exit 1); with it,
# add/list/remove/flush go round trip.
source "$(dirname "$0")/lib.sh"
source "$PBXGATE_SOURCE_DIR/scripts/lib/testbed.sh"

run=$(mktemp -d /tmp/pbxgate-bans-cli.XXXXXX)/run
bans() { "$PBXGATE" bans --runtime-dir "$run" "$@"; }
# bans_case WHAT EXPECTED_EXIT EXPECTED_TEXT ARGS...
bans_case() {
  local what=$1 want=$2 text=$3 status=0 out
  shift 3
  out=$(bans "$@" 2>&1) || status=$?
  expect_eq "$what: exit" "$want" "$status"
  expect_contains "$what: message" "$text" "$out"
}

# Without an engine, no root needed.
bans_case "list, no engine" 3 "no engine running" list
bans_case "add, no engine" 3 "no engine running" add 203.0.113.5 --for 1h
bans_case "add, bad address" 2 "203.0.113.300" add 203.0.113.300
bans_case "add, host bits set" 2 "203.0.113.5/24" add 203.0.113.5/24
bans_case "add, bad duration" 2 "--for '1w': unknown unit" add 203.0.113.5 --for 1w
bans_case "remove, no address" 2 "source is required" remove
bans_case "unknown subcommand" 2 "" frobnicate

testbed_require_root
trap 'testbed_cleanup; rm -rf "$(dirname "$run")"' EXIT
testbed_start banscli
policy=$PBXGATE_SOURCE_DIR/tests/data/policies/testbed.toml
printf 'extends = "%s"\n\n[sip]\nknown_peers = ["203.0.113.40"]\n' "$policy" >"$TB_TMP/site-sip.toml"
protection=0
if "$PBXGATE" check "$TB_TMP/site-sip.toml" >/dev/null 2>&1; then protection=1; policy=$TB_TMP/site-sip.toml; fi

testbed_rules "$policy" || { fail "pbxgate-rules apply"; finish; exit 1; }
engine_args=(--policy "$policy" --runtime-dir "$run" --pid-file "$TB_TMP/pbxgate.pid")
# A fresh ban state, not the host's, when the engine keeps one.
if "$PBXGATE" run --help 2>&1 | grep -q -- --state-dir; then engine_args+=(--state-dir "$TB_TMP/state"); fi
testbed_engine_start "$TB_TMP/engine.log" "${engine_args[@]}"
expect_eq "runtime dir mode" 700 "$(stat -c %a "$run")"
expect_eq "socket mode" 600 "$(stat -c %a "$run/control.sock")"
expect_contains "engine log names the socket" "control socket $run/control.sock" "$(cat "$TB_TMP/engine.log")"

if [ "$protection" = 0 ]; then
  bans_case "list, no SIP protection" 1 "SIP protection not enabled" list
  bans_case "add, no SIP protection" 1 "SIP protection not enabled" add 203.0.113.5 --for 10m
  bans_case "flush, no SIP protection" 1 "SIP protection not enabled" flush
else
  bans_case "add" 0 "banned 203.0.113.5/32 for 10m" add 203.0.113.5 --for 10m --reason "toll fraud"
  bans_case "add a /64" 0 "banned 2001:db8:3::/64 until removed" add 2001:db8:3::/64
  out=$(bans list --json)
  expect_eq "list --json: rows" 2 "$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])))' "$out")"
  expect_contains "list --json: the manual ban" '"source":"203.0.113.5/32","reason":"toll fraud"' "$out"
  bans_case "list table" 0 "203.0.113.5/32" list
  bans_case "remove" 0 "removed the ban of 203.0.113.5" remove 203.0.113.5
  bans_case "remove again" 1 "203.0.113.5/32 is not banned" remove 203.0.113.5
  bans_case "flush" 0 "removed 1 ban(s)" flush
fi

# A peer that is neither root nor the engine's user is refused by the engine itself, even
# with the file modes opened up (SO_PEERCRED, not only the 0600 mode, guards it).
if command -v setpriv >/dev/null; then
  out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$PBXGATE" bans --runtime-dir "$run" list 2>&1) && st=0 || st=$?
  expect_eq "nobody, 0600 socket: exit" 1 "$st"
  expect_contains "nobody, 0600 socket" "permission denied" "$out"
  chmod 0711 "$(dirname "$run")"
  chmod 0777 "$run" "$run/control.sock"
  out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$PBXGATE" bans --runtime-dir "$run" list 2>&1) && st=0 || st=$?
  expect_eq "nobody, open modes: exit" 1 "$st"
  expect_contains "nobody, open modes" "serves root and the engine's user only" "$out"
fi

# A malformed request on the wire gets a clear error, and the engine keeps serving.
if command -v python3 >/dev/null; then
  out=$(python3 - "$run/control.sock" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.sendall(b'{"command": bans.list}\n')
s.settimeout(3)
print(s.recv(4096).decode().strip())
PY
)
  expect_contains "malformed request" '"ok":false,"error":"malformed request: not JSON' "$out"
fi
status=0
bans list >/dev/null 2>&1 || status=$?
if [ "$status" -ne 3 ]; then pass; else fail "engine stopped serving after a malformed request"; fi

testbed_engine_stop TERM
expect_eq "engine exit after SIGTERM" 0 "$TB_ENGINE_RC"
if [ ! -e "$run/control.sock" ]; then pass; else fail "control socket left behind after the engine stopped"; fi
bans_case "list after the engine stopped" 3 "no engine running" list
finish
