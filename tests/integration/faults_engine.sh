#!/usr/bin/env bash
# Faults around the running engine, in the namespace testbed (scripts/lib/testbed.sh):
#  1. least privilege: once bound, every thread holds CAP_NET_ADMIN alone (effective,
#     permitted, bounding), no_new_privs is set; with --user nobody every thread runs as
#     nobody, judges correctly and still reloads;
#  2. the policy file deleted, then made unreadable, while running: SIGHUP is refused,
#     the engine keeps running on the old policy; restored, the reload succeeds;
#  3. the engine started twice on the same queue: the second exits non-zero naming the
#     queue, the first keeps running and judging;
#  4. the netlink socket overrun (ENOBUFS): the engine frozen while large packets fill its
#     socket; resumed, it counts the overrun and keeps judging;
#  5. SIGKILL under load: the kernel unbinds the queue, fail-open rules bypass it; a
#     restart binds the same queue again and the verdicts come back.
source "$(dirname "$0")/lib.sh"
source "$PBXGATE_SOURCE_DIR/scripts/lib/testbed.sh"
testbed_require_root
here=$PBXGATE_SOURCE_DIR/tests/integration
craft=$here/hostile_craft.py
tag=fx$$
tmp=$(mktemp -d /tmp/pbxgate-faults.XXXXXX)
chmod 755 "$tmp"  # the --user run reads its policy here
stats_file=$tmp/stats.json
engine_pid=
helper_pids=()
cleanup() {
  local rc=$? p
  set +e
  for p in $engine_pid "${helper_pids[@]}"; do kill -CONT "$p" 2>/dev/null; kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  testbed_down "$tag"
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
testbed_up "$tag"
pbx=$TB_PBX

wait_for() {
  local i
  for ((i = 0; i < $1 * 20; i++)); do "${@:2}" && return 0; sleep 0.05; done
  return 1
}
rules() {
  ip netns exec "$pbx" env PBXGATE="$PBXGATE" bash "$PBXGATE_SOURCE_DIR/scripts/pbxgate-rules" apply \
    --policy "$1" --placement host --queue 0 --fail open 2>/dev/null
}
# start_engine POLICY [run options...]
start_engine() {
  local policy=$1
  shift
  : >"$tmp/engine.log"
  rm -f "$stats_file"
  # --watch-quiet 0: reloads only on SIGHUP, so each one counted here is the test's own (the
  # watcher would reload a complete file at once, racing the SIGHUP that follows).
  ip netns exec "$pbx" "$PBXGATE" run --policy "$policy" --queue 0 --stats-file "$stats_file" --watch-quiet 0 "$@" \
    >>"$tmp/engine.log" 2>&1 &
  engine_pid=$!
  wait_for 10 grep -qs "queue(s) bound" "$tmp/engine.log" || { cat "$tmp/engine.log" >&2; fail "engine did not start"; exit 1; }
}
stop_engine() {
  kill -TERM "$engine_pid"
  wait "$engine_pid" || fail "engine exited non-zero on SIGTERM"
  engine_pid=
}
stats() {
  rm -f "$stats_file"
  kill -USR1 "$engine_pid"
  wait_for 5 test -s "$stats_file" || { fail "no stats report"; echo '{}'; return; }
  cat "$stats_file"
}
counter() { json_get "$1" "${@:2}" 2>/dev/null || echo 0; }
alive() { kill -0 "$engine_pid" 2>/dev/null && ! grep -q '^State:.*zombie' "/proc/$engine_pid/status"; }
# status_field NAME: that /proc status field of every thread of the engine, deduplicated.
status_field() { awk -v f="$1:" '$1 == f {print $2}' /proc/"$engine_pid"/task/*/status | sort -u | tr '\n' ' ' | sed 's/ $//'; }

# The policy's verdicts for a few probes: lan may reach SSH, the internet may not.
probes='[{"id":"inet-sip","proto":"udp","src":"203.0.113.10","dst":"203.0.113.1","port":5060,"timeout":1.5},
 {"id":"inet-ssh","proto":"tcp","src":"203.0.113.10","dst":"203.0.113.1","port":22,"timeout":1.5},
 {"id":"inet-iax","proto":"udp","src":"203.0.113.10","dst":"203.0.113.1","port":4569,"timeout":1.5}]'
probe_result() {  # "inet-iax=false inet-sip=true inet-ssh=false"
  ip netns exec "${TB_NS[inet]}" python3 "$here/probe.py" check <<<"$probes" |
    python3 -c 'import json,sys; r=json.load(sys.stdin); print(" ".join("%s=%s" % (k, str(r[k]["ok"]).lower()) for k in sorted(r)))'
}
judged="inet-iax=false inet-sip=true inet-ssh=false"
bypassed="inet-iax=true inet-sip=true inet-ssh=true"

ip netns exec "$pbx" python3 "$here/probe.py" serve --tcp 22 --udp 5060,4569 --ready "$tmp/serve.ready" &
helper_pids+=($!)
wait_for 10 test -f "$tmp/serve.ready" || { fail "probe server did not start"; exit 1; }
# The policy lives in our temp dir so we can delete it; it extends the testbed policy.
# The whole extends chain is copied here (mode 644 in a 755 dir) so that `--user nobody`
# can read every file of it, wherever the checkout lives (a clone under /root is 700).
policy=$tmp/site.toml
cp "$PBXGATE_SOURCE_DIR/policies/freepbx.toml" "$tmp/freepbx.toml"
sed 's|^extends = .*|extends = "freepbx.toml"|' "$PBXGATE_SOURCE_DIR/tests/data/policies/testbed.toml" >"$tmp/testbed.toml"
chmod 644 "$tmp/freepbx.toml" "$tmp/testbed.toml"
printf 'extends = "%s"\n' "$tmp/testbed.toml" >"$policy"
chmod 644 "$policy"
rules "$policy"

# 1. Least privilege.
start_engine "$policy"
expect_eq "effective capabilities of every thread" 0000000000001000 "$(status_field CapEff)"
expect_eq "permitted capabilities of every thread" 0000000000001000 "$(status_field CapPrm)"
expect_eq "bounding set of every thread" 0000000000001000 "$(status_field CapBnd)"
expect_eq "no_new_privs on every thread" 1 "$(status_field NoNewPrivs)"
expect_eq "verdicts with reduced privileges" "$judged" "$(probe_result)"
stop_engine
if id nobody >/dev/null 2>&1 && ip netns exec "$pbx" setpriv --reuid=nobody sh -c "test -r \"$policy\" && test -r \"$tmp/testbed.toml\" && test -r \"$tmp/freepbx.toml\"" 2>/dev/null; then
  # The stats and pid files (and the reload status beside it) are written after the drop:
  # their directory must be the user's.
  mkdir "$tmp/nobody" && chown nobody "$tmp/nobody"
  stats_file=$tmp/nobody/stats.json
  start_engine "$policy" --user nobody --pid-file "$tmp/nobody/pbxgate.pid"
  nobody_uid=$(id -u nobody)
  expect_eq "--user nobody: uid of every thread" "$nobody_uid	$nobody_uid	$nobody_uid	$nobody_uid" "$(awk '$1 == "Uid:" {print $2 "\t" $3 "\t" $4 "\t" $5}' /proc/"$engine_pid"/task/*/status | sort -u)"
  expect_eq "--user nobody: effective capabilities" 0000000000001000 "$(status_field CapEff)"
  expect_eq "--user nobody: verdicts" "$judged" "$(probe_result)"
  kill -HUP "$engine_pid"
  expect_eq "--user nobody: reload succeeds" 1 "$(counter "$(stats)" reloads)"
  stop_engine
  stats_file=$tmp/stats.json
else
  fail "cannot test --user: no user nobody, or it cannot read $policy"
fi

# 2. The policy file deleted, then unreadable, while running.
start_engine "$policy"
mv "$policy" "$policy.saved"
kill -HUP "$engine_pid"
s=$(stats)
expect_eq "deleted policy: reload refused" 1 "$(counter "$s" reload_failures)"
expect_eq "deleted policy: generation kept" 1 "$(counter "$s" generation)"
alive && pass || fail "engine died when its policy file was deleted"
expect_eq "deleted policy: verdicts kept" "$judged" "$(probe_result)"
mv "$policy.saved" "$policy"
chmod 000 "$policy"  # uid 0 without CAP_DAC_OVERRIDE obeys the mode too
kill -HUP "$engine_pid"
s=$(stats)
expect_eq "unreadable policy: reload refused" 2 "$(counter "$s" reload_failures)"
grep -q "cannot read\|Permission denied\|permission denied" "$tmp/engine.log" && pass ||
  fail "unreadable policy: no clear error in the log: $(tail -3 "$tmp/engine.log")"
alive && pass || fail "engine died when its policy file became unreadable"
chmod 644 "$policy"
kill -HUP "$engine_pid"
s=$(stats)
expect_eq "restored policy: reload succeeds" 1 "$(counter "$s" reloads)"
expect_eq "restored policy: new generation" 2 "$(counter "$s" generation)"

# 3. A second engine on the same queue.
status=0
second=$(ip netns exec "$pbx" "$PBXGATE" run --policy "$policy" --queue 0 2>&1) || status=$?
[ "$status" -ne 0 ] && pass || fail "second engine on queue 0 exited 0"
expect_contains "second engine's error names the queue" "queue 0" "$second"
expect_contains "second engine's error says why" "already bound" "$second"
alive && pass || fail "the first engine died when a second one started"
expect_eq "first engine still judges" "$judged" "$(probe_result)"

# 4. ENOBUFS: 4096-packet queue, whole packets copied, the engine frozen while 4000
# 1400-byte datagrams arrive: the socket overruns before the kernel queue fills.
cat >"$tmp/enobufs.toml" <<EOF2
extends = "$policy"
[engine]
queue_maxlen = 4096
copy_range = 65535
EOF2
chmod 644 "$tmp/enobufs.toml"
stop_engine
start_engine "$tmp/enobufs.toml"
kill -STOP "$engine_pid"
ip netns exec "${TB_NS[inet]}" python3 "$craft" burst 203.0.113.1 5060 4000 1400 >/dev/null
sleep 1
kill -CONT "$engine_pid"
sleep 1
s=$(stats)
enobufs=$(counter "$s" enobufs)
user_dropped=$(counter "$s" queues 0 kernel_user_dropped)
echo "ENOBUFS: engine counted $enobufs overrun(s); kernel user_dropped $user_dropped"
[ "$enobufs" -gt 0 ] && pass || fail "no ENOBUFS counted (socket large enough? rcvbuf in the log: $(grep -o 'rcvbuf [0-9]*' "$tmp/engine.log"))"
alive && pass || fail "engine died after ENOBUFS"
# The worker does not log: its overrun record goes through the drop ring to the main thread.
tb_wait_for 5 grep -qs "socket receive buffer overran (ENOBUFS" "$tmp/engine.log" && pass ||
  fail "no ENOBUFS warning in the engine log"
expect_eq "verdicts after ENOBUFS" "$judged" "$(probe_result)"
stop_engine

# 5. SIGKILL under load, then restart on the same queue.
start_engine "$policy"
ip netns exec "${TB_NS[lan]}" python3 "$craft" burst 192.0.2.1 5060 100000 64 >/dev/null &
load_pid=$!
helper_pids+=("$load_pid")
sleep 0.5
kill -9 "$engine_pid"
wait "$engine_pid" 2>/dev/null || true
engine_pid=
wait "$load_pid" || true
bound=$(ip netns exec "$pbx" awk '$1 == 0' /proc/net/netfilter/nfnetlink_queue)
expect_eq "SIGKILL: the kernel unbinds the queue" "" "$bound"
expect_eq "SIGKILL: fail-open rules bypass the missing engine" "$bypassed" "$(probe_result)"
start_engine "$policy"
expect_eq "restart after SIGKILL: verdicts back" "$judged" "$(probe_result)"
stop_engine
finish
