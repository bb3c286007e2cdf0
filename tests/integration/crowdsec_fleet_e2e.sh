#!/usr/bin/env bash
# Two PBXs sharing bans through a real CrowdSec local API (Debian's `crowdsec`, installed
# by `scripts/install-deps crowdsec`, see DEVELOPERS.md), end to end:
#
#   hub namespace: a bridge, and `crowdsec -no-cs` (the local API alone) on 198.51.100.100:8080
#                  with this test's own config directory and SQLite database
#   PBX A        198.51.100.1 (management, trusted zone)   203.0.113.1 (internet side)
#   PBX B        198.51.100.2                             203.0.113.2
#   internet     203.0.113.50 scanner, .51 a source the admin bans with cscli, .52 a bystander
#
# Each PBX runs its own engine (bouncer key and machine credentials of its own) and a small
# SIP responder on 5060/udp. Checked:
#   - a scanner banned by engine A is dropped by engine B within poll_seconds + 2 s (printed)
#   - `cscli decisions add --ip` blocks a source on both; `cscli decisions delete` lifts it
#   - a decision on a trusted address is never applied
#   - stopping the API keeps the bans, the engines stay up (pbxgate_crowdsec_up 0); after a
#     restart the stream resumes (up 1, a new decision arrives)
#   - a bouncer key file others can read is refused at start, the key never shown
# Everything runs in namespaces this test creates; the system's /etc/crowdsec is not used.
source "$(dirname "$0")/lib.sh"
source "$PBXGATE_SOURCE_DIR/scripts/lib/testbed.sh"
testbed_require_root
require_tools crowdsec crowdsec cscli curl

poll=1
tag=csf$$
hub=pbxg-$tag-hub
declare -A NS=([a]=pbxg-$tag-a [b]=pbxg-$tag-b [inet]=pbxg-$tag-inet)
declare -A MGMT=([a]=198.51.100.1 [b]=198.51.100.2)
declare -A WAN=([a]=203.0.113.1 [b]=203.0.113.2)
api_addr=198.51.100.100
api=http://$api_addr:8080
scanner=203.0.113.50
admin_banned=203.0.113.51
TMP=$(mktemp -d /tmp/pbxgate-crowdsec.XXXXXX)
PIDS=()
declare -A ENGINE=()
cleanup() {
  local rc=$? p
  for p in "${PIDS[@]}" "${ENGINE[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}" "${ENGINE[@]}"; do { wait "$p"; } 2>/dev/null || true; done
  testbed_down "$tag"
  [ -z "${TB_KEEP_TMP:-}" ] && rm -rf "$TMP"
  return "$rc"
}
trap cleanup EXIT

# --- Namespaces: one bridge in the hub, every other namespace plugged into it ---------------
for ns in "$hub" "${NS[@]}"; do
  ip netns add "$ns"
  ip -n "$ns" link set lo up
done
ip -n "$hub" link add br0 type bridge
ip -n "$hub" link set br0 up
ip -n "$hub" addr add "$api_addr/24" dev br0
for who in a b inet; do
  ip link add "cs$who" netns "$hub" type veth peer name eth0 netns "${NS[$who]}"
  ip -n "$hub" link set "cs$who" master br0 up
  ip -n "${NS[$who]}" link set eth0 up
done
for who in a b; do
  ip -n "${NS[$who]}" addr add "${MGMT[$who]}/24" dev eth0
  ip -n "${NS[$who]}" addr add "${WAN[$who]}/24" dev eth0
done
for addr in $scanner $admin_banned 203.0.113.52; do ip -n "${NS[inet]}" addr add "$addr/24" dev eth0; done

# --- The local API: its own config, database and logs under $TMP -----------------------------
cs=$TMP/crowdsec
mkdir -p "$cs/data" "$cs/hub" "$cs/log"
cat >"$cs/config.yaml" <<YAML
common:
  daemonize: false
  log_media: file
  log_level: info
  log_dir: $cs/log/
  working_dir: .
config_paths:
  config_dir: $cs/
  data_dir: $cs/data/
  simulation_path: $cs/simulation.yaml
  hub_dir: $cs/hub/
  index_path: $cs/hub/.index.json
  notification_dir: $cs/notifications/
  plugin_dir: /usr/lib/crowdsec/plugins/
cscli:
  output: human
  color: never
db_config:
  log_level: info
  type: sqlite
  db_path: $cs/data/crowdsec.db
  use_wal: false
api:
  client:
    insecure_skip_verify: false
    credentials_path: $cs/local_api_credentials.yaml
  server:
    log_level: info
    listen_uri: $api_addr:8080
    profiles_path: $cs/profiles.yaml
prometheus:
  enabled: false
YAML
printf 'simulation: off\n' >"$cs/simulation.yaml"
cat >"$cs/profiles.yaml" <<YAML
name: default_ip_remediation
filters:
 - Alert.Remediation == true && Alert.GetScope() == "Ip"
decisions:
 - type: ban
   duration: 4h
on_success: break
YAML
: >"$cs/local_api_credentials.yaml"
cscli_() { ip netns exec "$hub" cscli -c "$cs/config.yaml" --error "$@"; }
# cscli itself (decisions add/delete) talks to the API as a machine of its own.
cscli_ machines add cscli-admin --auto --force -f "$cs/local_api_credentials.yaml" --url "$api" >/dev/null
for who in a b; do
  mkdir -p "$TMP/$who/state" "$TMP/$who/run"
  cscli_ bouncers add "pbx-$who-$tag" -o raw >"$TMP/$who/bouncer.key"
  cscli_ machines add "pbx-$who-$tag" --auto -f "$TMP/$who/machine.yaml" --url "$api" >/dev/null
  chmod 600 "$TMP/$who/bouncer.key" "$TMP/$who/machine.yaml"
done

api_start() {
  ip netns exec "$hub" crowdsec -c "$cs/config.yaml" -no-cs >>"$TMP/crowdsec.out" 2>&1 &
  API_PID=$!
  tb_wait_for 20 ip netns exec "$hub" curl -fs -o /dev/null -H "X-Api-Key: $(cat "$TMP/a/bouncer.key")" \
    "$api/v1/decisions?ip=192.0.2.1"
}
api_stop() {
  kill "$API_PID" 2>/dev/null || true
  { wait "$API_PID"; } 2>/dev/null || true
  API_PID=""
}
api_start || { fail "the CrowdSec local API did not start"; tail -20 "$cs/log/"*.log "$TMP/crowdsec.out" >&2; finish; exit 1; }
PIDS+=("$API_PID")

# --- A SIP responder per PBX, and a SIP asker on the internet ---------------------------------
cat >"$TMP/sip.py" <<'PY'
import socket, sys, time, uuid
def request(src, dst, ua):
    branch = "z9hG4bK-" + uuid.uuid4().hex[:16]
    return ("OPTIONS sip:100@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s:5070;branch=%s\r\nMax-Forwards: 70\r\n"
            "To: <sip:100@%s>\r\nFrom: <sip:probe@%s>;tag=%s\r\nCall-ID: %s\r\nCSeq: 1 OPTIONS\r\n"
            "User-Agent: %s\r\nContent-Length: 0\r\n\r\n" % (dst, src, branch, dst, src, branch[8:], uuid.uuid4().hex,
                                                            ua)).encode()
def ask(src, dst, ua, timeout):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, 0))
    s.settimeout(timeout)
    s.sendto(request(src, dst, ua), (dst, 5060))
    try:
        s.recvfrom(4096)
        return True
    except socket.timeout:
        return False
    finally:
        s.close()
cmd = sys.argv[1]
if cmd == "serve":  # answers every request 200 OK, echoing the dialog headers
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((sys.argv[2], 5060))
    open(sys.argv[3], "w").close()
    while True:
        data, peer = s.recvfrom(65535)
        lines = data.decode(errors="replace").split("\r\n")
        keep = [l for l in lines if l.split(":")[0].lower() in ("via", "from", "to", "call-id", "cseq")]
        s.sendto(("SIP/2.0 200 OK\r\n" + "\r\n".join(keep) + "\r\nContent-Length: 0\r\n\r\n").encode(), peer)
elif cmd == "ask":  # exit 0 when answered
    sys.exit(0 if ask(sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5])) else 1)
elif cmd == "scan-then-watch":  # SRC SCANNED WATCHED DEADLINE: seconds until WATCHED stops answering
    src, scanned, watched, deadline = sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5])
    t0 = time.monotonic()
    ask(src, scanned, "friendly-scanner", 0.2)
    while time.monotonic() - t0 < deadline:
        if not ask(src, watched, "Linphone/5.0", 0.15):
            # Confirm with a second probe: one lost datagram is not a drop.
            t = time.monotonic() - t0
            if not ask(src, watched, "Linphone/5.0", 0.3):
                print("%.2f" % t)
                sys.exit(0)
        time.sleep(0.1)
    print("never")
    sys.exit(1)
PY
for who in a b; do
  ip netns exec "${NS[$who]}" python3 "$TMP/sip.py" serve "${WAN[$who]}" "$TMP/$who/sip-ready" &
  PIDS+=($!)
  tb_wait_for 10 test -f "$TMP/$who/sip-ready" || { fail "SIP responder $who"; finish; exit 1; }
done
ask() { ip netns exec "${NS[inet]}" python3 "$TMP/sip.py" ask "$1" "$2" "Linphone/5.0" "${3:-0.5}"; }

# --- The engines ---------------------------------------------------------------------------
for who in a b; do
  cat >"$TMP/$who/site.toml" <<TOML
extends = "$PBXGATE_SOURCE_DIR/policies/freepbx.toml"

[zones]
trusted = ["198.51.100.0/24"]

[sip]
# The probes below ask many times from one address: no rate ban may get in the way.
rate_tiers = [{ requests = 100000, window = 60, ban = 600 }]

[crowdsec]
api_url = "$api"
bouncer_key_file = "$TMP/$who/bouncer.key"
machine_credentials_file = "$TMP/$who/machine.yaml"
poll_seconds = $poll
TOML
  "$PBXGATE" check "$TMP/$who/site.toml" >/dev/null || { fail "pbxgate check $who"; "$PBXGATE" check "$TMP/$who/site.toml"; finish; exit 1; }
  ip netns exec "${NS[$who]}" env PBXGATE="$PBXGATE" bash "$PBXGATE_SOURCE_DIR/scripts/pbxgate-rules" apply \
    --policy "$TMP/$who/site.toml" >/dev/null 2>&1 || { fail "pbxgate-rules apply $who"; finish; exit 1; }
done
engine_start() {  # engine_start WHO [LOG]: LOG (default engine.log) is new for each start
  local who=$1 log=$TMP/$1/${2:-engine.log}
  ip netns exec "${NS[$who]}" "$PBXGATE" run --policy "$TMP/$who/site.toml" --runtime-dir "$TMP/$who/run" \
    --pid-file "$TMP/$who/pbxgate.pid" --state-dir "$TMP/$who/state" >"$log" 2>&1 &
  ENGINE[$who]=$!
  tb_wait_for 10 grep -qs "queue(s) bound" "$log"
}
for who in a b; do engine_start "$who" || { fail "engine $who did not start"; cat "$TMP/$who/engine.log" >&2; finish; exit 1; }; done
metric() {  # metric WHO NAME: the sample's value
  ip netns exec "${NS[$1]}" curl -fs http://127.0.0.1:9477/metrics | awk -v n="$2" '$1 == n { print $2 }'
}
bans_json() { ip netns exec "${NS[$1]}" "$PBXGATE" bans --runtime-dir "$TMP/$1/run" list --json; }
tb_wait_for 10 eval '[ "$(metric a pbxgate_crowdsec_up)" = 1 ] && [ "$(metric b pbxgate_crowdsec_up)" = 1 ]' ||
  fail "both engines reach the API (up = $(metric a pbxgate_crowdsec_up)/$(metric b pbxgate_crowdsec_up))"
pass

# The secrets never reach the logs.
for who in a b; do
  key=$(cat "$TMP/$who/bouncer.key")
  password=$(awk '$1 == "password:" { print $2 }' "$TMP/$who/machine.yaml")
  if grep -qF -e "$key" -e "$password" "$TMP/$who/engine.log"; then fail "engine $who logged a secret"; else pass; fi
done

# --- 1. A scanner banned by A is dropped by B ------------------------------------------------
ask "$scanner" "${WAN[b]}" || fail "before any ban, B answers the future scanner"
ask "$scanner" "${WAN[a]}" || fail "before any ban, A answers the future scanner"
limit=$((poll + 2))
took=$(ip netns exec "${NS[inet]}" python3 "$TMP/sip.py" scan-then-watch "$scanner" "${WAN[a]}" "${WAN[b]}" 15 || true)
echo "ban on engine A -> drop on engine B: ${took} s (poll_seconds $poll, limit $limit s)"
if [ "$took" != never ] && python3 -c "import sys; sys.exit(0 if float('$took') <= $limit else 1)"; then pass; else
  fail "scanner banned by A not dropped by B within $limit s (took: $took)"
fi
grep -q "ban $scanner/32 reason scanner" "$TMP/a/engine.log" || fail "A banned the scanner itself (reason scanner)"
tb_wait_for 5 grep -q "ban $scanner/32 reason crowdsec (origin crowdsec, scenario \"pbxgate/sip-scanner\")" "$TMP/b/engine.log" ||
  fail "B logs the CrowdSec ban with origin and scenario"
row=$(bans_json b)
expect_contains "B's bans list: reason crowdsec" '"reason":"crowdsec"' "$row"
expect_contains "B's bans list: the scenario" '"scenario":"pbxgate/sip-scanner"' "$row"
expect_eq "A pushed one alert" 1 "$(metric a pbxgate_crowdsec_alerts_pushed_total)"
# B's CrowdSec ban is not pushed back; A keeps its own reason.
expect_eq "B pushed no alert" 0 "$(metric b pbxgate_crowdsec_alerts_pushed_total)"
expect_contains "A keeps its own ban reason" '"reason":"scanner"' "$(bans_json a)"

# --- 2. cscli decisions add / delete, on both ----------------------------------------------
ask "$admin_banned" "${WAN[a]}" && ask "$admin_banned" "${WAN[b]}" || fail "before cscli, both answer $admin_banned"
cscli_ decisions add --ip "$admin_banned" --duration 1h --reason "pbxgate e2e" >/dev/null
for who in a b; do
  tb_wait_for $limit eval '! ask "$admin_banned" "${WAN[$who]}" 0.15' && pass || fail "cscli decisions add: $who still answers $admin_banned"
done
expect_contains "the cscli decision's origin on A" '"origin":"cscli"' "$(bans_json a)"
expect_eq "B counts two CrowdSec decisions" 2 "$(metric b pbxgate_crowdsec_decisions)"
cscli_ decisions delete --ip "$admin_banned" >/dev/null
for who in a b; do
  tb_wait_for $((limit + 1)) ask "$admin_banned" "${WAN[$who]}" 0.15 && pass || fail "cscli decisions delete: $who still drops $admin_banned"
done
# A decision on a trusted address is never applied.
cscli_ decisions add --ip "${MGMT[b]}" --duration 1h >/dev/null
sleep $limit
if bans_json a | grep -q "\"${MGMT[b]}/32\""; then fail "a trusted address was banned"; else pass; fi
ask 203.0.113.52 "${WAN[b]}" || fail "a bystander is still answered"

# --- 3. The API goes away: bans stay, engines stay healthy ---------------------------------
api_stop
for who in a b; do
  tb_wait_for 10 eval '[ "$(metric $who pbxgate_crowdsec_up)" = 0 ]' && pass || fail "$who reports the API down"
  kill -0 "${ENGINE[$who]}" 2>/dev/null && pass || fail "engine $who died with the API"
done
if ask "$scanner" "${WAN[b]}" 0.3; then fail "B forgot the scanner's ban when the API went away"; else pass; fi
age=$(metric b pbxgate_crowdsec_last_pull_age_seconds)
python3 -c "import sys; sys.exit(0 if float('$age') >= 1 else 1)" && pass || fail "last pull age grows while down ($age)"
expect_eq "one outage line on B" 1 "$(grep -c 'unreachable or failing' "$TMP/b/engine.log")"
# An engine restarted while the API is down keeps the decisions (state directory).
kill "${ENGINE[b]}"; { wait "${ENGINE[b]}"; } 2>/dev/null || true
engine_start b engine-2.log || fail "engine b restarts without the API"
grep -q "crowdsec: 1 decision(s) restored" "$TMP/b/engine-2.log" && pass || fail "B restores its CrowdSec decisions"
if ask "$scanner" "${WAN[b]}" 0.3; then fail "B dropped the scanner's ban over a restart without the API"; else pass; fi

# --- 4. The API is back: the stream resumes ------------------------------------------------
api_start || fail "the API restarts"
PIDS+=("$API_PID")
for who in a b; do
  tb_wait_for 70 eval '[ "$(metric $who pbxgate_crowdsec_up)" = 1 ]' && pass || fail "$who reports the API up again"
done
grep -q "reachable again" "$TMP/a/engine.log" && pass || fail "A logs the recovery"
cscli_ decisions add --ip "$admin_banned" --duration 1h >/dev/null
for who in a b; do
  tb_wait_for $limit eval '! ask "$admin_banned" "${WAN[$who]}" 0.15' && pass || fail "after the restart: $who still answers $admin_banned"
done

for who in a b; do
  kill "${ENGINE[$who]}" 2>/dev/null || true
  wait "${ENGINE[$who]}" 2>/dev/null && pass || fail "engine $who exits cleanly"
done
ENGINE=()

# --- 5. A key file others can read is refused at start, without showing the key ----------
chmod 644 "$TMP/a/bouncer.key"
if timeout 20 ip netns exec "${NS[a]}" "$PBXGATE" run --policy "$TMP/a/site.toml" --runtime-dir "$TMP/a/run" \
  --state-dir "$TMP/a/state" >"$TMP/a/refused.log" 2>&1; then
  fail "an engine started with a world-readable bouncer key"
else
  pass
fi
expect_contains "the refusal says why" "chmod 600" "$(cat "$TMP/a/refused.log")"
if grep -qF "$(cat "$TMP/a/bouncer.key")" "$TMP/a/refused.log"; then fail "the refusal shows the key"; else pass; fi
if [ "$failures" -ne 0 ]; then
  for log in "$TMP"/[ab]/engine*.log; do echo "--- $log (tail)"; tail -30 "$log"; done >&2
fi
finish
