#!/usr/bin/env bash
# SIP protection against real tools, end to end. In the namespace testbed: Kamailio as the
# PBX's registrar (tests/integration/sip/kamailio.cfg: digest auth, 401/403/404/200) in the
# PBX namespace behind the engine; from internet addresses, each actor on its own address:
#   svmap      203.0.113.21  SIPVicious scan (OPTIONS, User-Agent friendly-scanner)
#   svwar      203.0.113.22  SIPVicious extension enumeration (REGISTER)
#   svcrack    203.0.113.23  SIPVicious password cracking of extension 1001
#   bruteforce 203.0.113.24  sipp guessing passwords with a forged phone User-Agent
#   flood      203.0.113.25  sipp REGISTER flood, 100 per second
#   phone1001  203.0.113.31  sipp phone: REGISTER with the right password, OPTIONS, SUBSCRIBE
#   phone1002  203.0.113.32  the same for 1002
#   trunk      203.0.113.40  sipp IP-authenticated trunk placing calls ([sip] known_peers)
# Prints, per actor, what it sent (tcpdump on the internet side), what reached the
# registrar and what the registrar answered (its log).
#
# Always checked: every tool ran and was counted, the phones and the trunk got every
# request answered (sipp exit 0). The SIP protection expectations (scanners banned at their
# first request and never answered, brute force banned after <= 5 failures, the flood
# banned by rate, phones and trunk never banned, a ban survives an engine restart,
# `pbxgate bans remove` lets a source back within 1 s, a banned source's packets stop
# reaching the queue) are checked when the engine has SIP protection: when `pbxgate check`
# accepts a policy with `[sip] known_peers`. An engine without it refuses that key (unknown
# keys are errors), and the rig then measures the port policy alone.
source "$(dirname "$0")/lib.sh"
source "$PBXGATE_SOURCE_DIR/scripts/lib/testbed.sh"
source "$PBXGATE_SOURCE_DIR/scripts/lib/sip_rig.sh"
testbed_require_root
require_tools sip kamailio sipp svmap svwar svcrack tcpdump
trap testbed_cleanup EXIT
testbed_start sipe2e
sipdir=$SIP_RIG_DIR
inet=${TB_NS[inet]}
pbx_addr=$SIP_PBX_ADDR
actors=(svmap svwar svcrack bruteforce flood phone1001 phone1002 trunk)
declare -A ADDR=([svmap]=203.0.113.21 [svwar]=203.0.113.22 [svcrack]=203.0.113.23 [bruteforce]=203.0.113.24
  [flood]=203.0.113.25 [phone1001]=203.0.113.31 [phone1002]=203.0.113.32 [trunk]=203.0.113.40)
for a in "${actors[@]}"; do ip -n "$inet" addr add "${ADDR[$a]}/24" dev eth0; done

# --- The policy, and whether this engine has SIP protection ---------------------------------
cat >"$TB_TMP/site.toml" <<TOML
extends = "$PBXGATE_SOURCE_DIR/tests/data/policies/testbed.toml"
TOML
cp "$TB_TMP/site.toml" "$TB_TMP/site-sip.toml"
cat >>"$TB_TMP/site-sip.toml" <<TOML

[sip]
known_peers = ["${ADDR[trunk]}"]
TOML
if "$PBXGATE" check "$TB_TMP/site-sip.toml" >"$TB_TMP/check.out" 2>&1; then
  protection=1
  policy=$TB_TMP/site-sip.toml
  echo "SIP protection: on (pbxgate check accepts [sip] known_peers): checking the expectations"
else
  protection=0
  policy=$TB_TMP/site.toml
  echo "SIP protection: not in this engine ($(head -1 "$TB_TMP/check.out")): measuring the port policy alone"
fi
# The ban state survives restarts in --state-dir, when the engine has it.
engine_args=(--policy "$policy" --runtime-dir "$TB_TMP/run" --pid-file "$TB_TMP/pbxgate.pid"
  --stats-file "$TB_TMP/stats.json")
# The engine does not create it (the unit's StateDirectory does).
if "$PBXGATE" run --help 2>&1 | grep -q -- --state-dir; then
  mkdir -p "$TB_TMP/state"
  engine_args+=(--state-dir "$TB_TMP/state")
fi

# --- The registrar --------------------------------------------------------------------------
sip_registrar_start "${ADDR[trunk]}" || { fail "the registrar (kamailio) did not start"; finish; exit 1; }

testbed_rules "$policy" || { fail "pbxgate-rules apply"; finish; exit 1; }
testbed_engine_start "$TB_TMP/engine.log" "${engine_args[@]}"

# What each actor sends, seen on the internet side of the PBX.
sip_capture_start

# --- The actors, all at once, each bounded in time ------------------------------------------
run_bg() {  # run_bg NAME COMMAND...: in the internet namespace, output to NAME.out, pid in PID[NAME]
  local name=$1
  shift
  ip netns exec "$inet" timeout 90 "$@" >"$TB_TMP/$name.out" 2>&1 </dev/null &
  PID[$name]=$!
  TB_PIDS+=($!)
}
declare -A PID
sipp_common=(-nostdin -default_behaviors -bye -timeout 80s -recv_timeout 3000 -max_recv_loops 100)
# Attackers give up on a silent PBX sooner (once banned, nothing comes back).
sipp_attack=(-nostdin -default_behaviors -bye -timeout 60s -recv_timeout 1000 -max_recv_loops 100)
run_bg phone1001 sipp "$pbx_addr:5060" -sf "$sipdir/phone.xml" -i "${ADDR[phone1001]}" -p 5062 \
  -s 1001 -au 1001 -ap phone1001secret -m 12 -r 1 -rp 3000 -l 1 "${sipp_common[@]}"
run_bg phone1002 sipp "$pbx_addr:5060" -sf "$sipdir/phone.xml" -i "${ADDR[phone1002]}" -p 5062 \
  -s 1002 -au 1002 -ap phone1002secret -m 12 -r 1 -rp 3000 -l 1 "${sipp_common[@]}"
run_bg trunk sipp "$pbx_addr:5060" -sf "$sipdir/trunk.xml" -i "${ADDR[trunk]}" -p 5064 \
  -s 2000 -m 10 -r 1 -rp 3000 -l 2 "${sipp_common[@]}"
sleep 1
run_bg svmap python3 "$sipdir/sv_from.py" "${ADDR[svmap]}" svmap -b "${ADDR[svmap]}" -x "${ADDR[svmap]}" -P 5070 -p 5060 "$pbx_addr"
run_bg svwar python3 "$sipdir/sv_from.py" "${ADDR[svwar]}" svwar -b "${ADDR[svwar]}" -x "${ADDR[svwar]}" -P 5070 -m REGISTER -e 1000-1030 --force --maximumtime 15 \
  "$pbx_addr"
run_bg svcrack python3 "$sipdir/sv_from.py" "${ADDR[svcrack]}" svcrack -b "${ADDR[svcrack]}" -x "${ADDR[svcrack]}" -P 5070 -u 1001 -r 1000-1040 \
  --maximumtime 15 "$pbx_addr"
run_bg bruteforce sipp "$pbx_addr:5060" -sf "$sipdir/bruteforce.xml" -i "${ADDR[bruteforce]}" -p 5066 \
  -s 1001 -au 1001 -ap guess123 -m 20 -r 4 -l 1 "${sipp_attack[@]}"
run_bg flood sipp "$pbx_addr:5060" -sf "$sipdir/register_flood.xml" -i "${ADDR[flood]}" -p 5068 \
  -s 1003 -m 300 -r 100 -l 200 "${sipp_attack[@]}"

declare -A RC
for a in "${actors[@]}"; do
  rc=0
  wait "${PID[$a]}" || rc=$?
  RC[$a]=$rc
done
sleep 0.5

# --- Counts per actor -------------------------------------------------------------------------
# sent: requests the actor sent (retransmissions included); reached: requests the registrar
# logged; answered: its replies; got: replies that reached the actor; 200..404: replies by code.
printf '%-11s %-14s %5s %6s %8s %8s %5s %5s %5s %5s %5s %s\n' actor address exit sent reached answered got 200 401 403 404 banned
declare -A REACHED SENT GOT
bans_json=""
if [ "$protection" = 1 ]; then bans_json=$("$PBXGATE" bans --runtime-dir "$TB_TMP/run" list --json 2>&1 || true); fi
ban_reason() { sip_ban_reason "$bans_json" "$1"; }  # ban_reason ADDR: its ban's reason, or "-"
for a in "${actors[@]}"; do
  ip=${ADDR[$a]}
  SENT[$a]=$(sip_sent_by "$ip")
  REACHED[$a]=$(sip_reached "$ip")
  GOT[$a]=$(sip_got_by "$ip")
  printf '%-11s %-14s %5s %6s %8s %8s %5s %5s %5s %5s %5s %s\n' "$a" "$ip" "${RC[$a]}" "${SENT[$a]}" "${REACHED[$a]}" \
    "$(sip_answered "$ip")" "${GOT[$a]}" "$(sip_answered "$ip" 200)" "$(sip_answered "$ip" 401)" "$(sip_answered "$ip" 403)" "$(sip_answered "$ip" 404)" \
    "$(ban_reason "$ip")"
done

# --- Always: the rig itself works ---------------------------------------------------------------
for a in phone1001 phone1002 trunk; do
  expect_eq "$a: every request answered (sipp exit status)" 0 "${RC[$a]}"
done
for a in "${actors[@]}"; do
  if [ "${SENT[$a]}" -gt 0 ]; then pass; else fail "$a sent nothing (see $a.out)"; fi
done

if [ "$protection" = 0 ]; then
  # The port policy alone lets every SIP request from the internet through.
  for a in "${actors[@]}"; do
    if [ "${REACHED[$a]}" -gt 0 ]; then pass; else fail "$a: nothing reached the registrar under the port policy"; fi
  done
  echo "SIP protection expectations not checked: this engine has no [sip] section"
  finish
  exit
fi

# --- SIP protection: the issue's expectations ---------------------------------------------------
for a in svmap svwar svcrack; do
  expect_eq "$a: requests that reached the registrar (banned at the first)" 0 "${REACHED[$a]}"
  expect_eq "$a: replies it got (dropped silently)" 0 "${GOT[$a]}"
  expect_eq "$a: ban reason" scanner "$(ban_reason "${ADDR[$a]}")"
done
failures_bf=$(sip_answered "${ADDR[bruteforce]}" 403)
if [ "$failures_bf" -le 5 ]; then pass; else fail "bruteforce: $failures_bf failures before the ban (at most 5)"; fi
expect_eq "bruteforce: ban reason" auth_failures "$(ban_reason "${ADDR[bruteforce]}")"
expect_eq "flood: ban reason" request_rate "$(ban_reason "${ADDR[flood]}")"
if [ "${REACHED[flood]}" -lt "${SENT[flood]}" ]; then pass; else fail "flood: every request reached the registrar"; fi
for a in phone1001 phone1002 trunk; do
  expect_eq "$a: never banned" - "$(ban_reason "${ADDR[$a]}")"
done

# A ban survives an engine restart.
testbed_engine_stop TERM
expect_eq "engine exit status after SIGTERM" 0 "$TB_ENGINE_RC"
testbed_engine_start "$TB_TMP/engine-2.log" "${engine_args[@]}"
bans_after=$("$PBXGATE" bans --runtime-dir "$TB_TMP/run" list --json 2>&1 || true)
expect_contains "bans after a restart" "\"${ADDR[svmap]}/32\"" "$bans_after"
out=$(ip netns exec "$inet" python3 "$sipdir/sip_probe.py" options "${ADDR[svmap]}" "$pbx_addr" --within 1 || true)
expect_eq "svmap's address after the restart, with a phone's User-Agent" "no answer" "$out"

# A banned source's packets stop reaching the queue: the kernel's queue counter (the last
# packet id of queue 0) barely moves while it sends 200 requests.
queue_seq() { ip netns exec "$TB_PBX" awk '$1 == 0 {print $8}' /proc/net/netfilter/nfnetlink_queue; }
before=$(queue_seq)
ip netns exec "$inet" python3 "$sipdir/sip_probe.py" burst "${ADDR[svwar]}" "$pbx_addr" 200
after=$(queue_seq)
if [ $((after - before)) -lt 20 ]; then pass; else
  fail "banned source: $((after - before)) of 200 packets reached the queue (the kernel set should drop them)"
fi

# `pbxgate bans remove` lets the source back within 1 s.
if "$PBXGATE" bans --runtime-dir "$TB_TMP/run" remove "${ADDR[svmap]}" >/dev/null; then pass; else fail "bans remove"; fi
out=$(ip netns exec "$inet" python3 "$sipdir/sip_probe.py" options "${ADDR[svmap]}" "$pbx_addr" --within 1 || true)
expect_contains "svmap's address after bans remove (a phone's User-Agent)" "answered" "$out"
finish
