#!/usr/bin/env bash
# Media pinholes against real tools, end to end. In the namespace testbed, behind the engine
# (`pbxgate rules` steering, `pbxgate run`), with RTP set to media = "negotiated":
#   PBX        203.0.113.1   sipp UAS (sip/media_uas.xml) answering with SDP, its media
#                            ports served by rtp_peer.py echo (counts per port and source,
#                            echoes each datagram back: media both ways)
#   caller A   203.0.113.10  sipp UAC (sip/media_uac.xml): c= its own address, RTP from
#                            :20000; a re-INVITE moves the PBX's port 10000 -> 10002
#   caller B   203.0.113.30  the same behind NAT: its SDP says c=192.0.2.250 (a documentation
#                            address standing for a private one, never sent to), its RTP
#                            comes from the signalling address; PBX port 10004
#   fax        203.0.113.40  a T.38 call (m=image udptl t38): UDPTL to the PBX's port 4000
#   injector   203.0.113.66  RTP to the PBX's negotiated port 10000 during A's call, UDPTL
#                            to the fax call's port 4000
# Checks (one PASS/FAIL line each, with numbers): the calls' RTP (and the fax's UDPTL)
# delivered both ways; the injected RTP and UDPTL dropped (0 delivered) and counted as
# no_pinhole, as many as were injected; `pbxgate explain --media --json` lists the pinholes
# during the calls; after the re-INVITE the old port drops and the new one delivers; RTP
# right after BYE passes, and drops once the grace period ([media] grace = 3) is over. Each
# call waits for the test between its steps (scripts/lib/media_rig.sh media_call_next), so
# a loaded host slows the test down but cannot reorder it.
# Prints, for the record, the share of the calls' packets that reached the engine (the kernel
# queue's counter and the engine's) and how many injected packets got through.
# An engine without media pinholes refuses the media key (unknown keys are errors): the test
# then runs the calls on the open RTP range and the pinhole checks FAIL, each saying so.
source "$(dirname "$0")/lib.sh"
source "$PBXGATE_SOURCE_DIR/scripts/lib/testbed.sh"
source "$PBXGATE_SOURCE_DIR/scripts/lib/media_rig.sh"
testbed_require_root
require_tools sip sipp python3
trap testbed_cleanup EXIT
testbed_start mediae2e
inet=${TB_NS[inet]}
caller_a=203.0.113.10
caller_b=203.0.113.30
fax=203.0.113.40
nat_sdp_ip=192.0.2.250
injector=203.0.113.66
for a in $caller_b $fax $injector; do ip -n "$inet" addr add "$a/24" dev eth0; done
# Seconds a closed call's pinholes stay open ([media] grace; 5 by default, shorter here to
# keep the test short).
grace=3
stream_count=100  # packets per call leg and phase, 50 per second as a phone sends
probe_count=50    # packets of each stream expected to drop

# check WHAT EXPECTED ACTUAL [NOTE]: one PASS/FAIL line, counted by lib.sh.
check() {
  if [ "$2" == "$3" ]; then
    pass
    echo "PASS: $1: $3"
  else
    fail "$1: got $3, expected $2${4:+ ($4)}"
  fi
}

# --- The policy, and whether this engine has media pinholes ---------------------------------
cat >"$TB_TMP/site.toml" <<TOML
extends = "$PBXGATE_SOURCE_DIR/tests/data/policies/testbed.toml"
TOML
cp "$TB_TMP/site.toml" "$TB_TMP/site-media.toml"
cat >>"$TB_TMP/site-media.toml" <<'TOML'

[services.rtp]
media = "negotiated"

[services.udptl]
media = "negotiated"

[media]
grace = 3
TOML
if "$PBXGATE" check "$TB_TMP/site-media.toml" >"$TB_TMP/check.out" 2>&1; then
  pinholes=1
  policy=$TB_TMP/site-media.toml
  why=""
  echo "media pinholes: on (pbxgate check accepts [services.rtp] media = \"negotiated\")"
else
  pinholes=0
  policy=$TB_TMP/site.toml
  why="no media pinholes in this engine"
  echo "media pinholes: NOT in this engine ($(head -1 "$TB_TMP/check.out")); the pinhole checks below fail"
fi
engine_args=(--policy "$policy" --runtime-dir "$TB_TMP/run" --stats-file "$TB_TMP/stats.json")

# --- The PBX: media echo, sipp UAS, the engine in front ---------------------------------------
media_pbx_start 4000,10000,10002,10004 3 || { fail "the PBX side (rtp_peer echo, sipp UAS) did not start"; finish; exit 1; }
testbed_rules "$policy" || { fail "pbxgate-rules apply"; finish; exit 1; }
testbed_engine_start "$TB_TMP/engine.log" "${engine_args[@]}"

no_pinhole() {
  testbed_engine_stats "$TB_TMP/stats.json" >/dev/null 2>&1 || { echo 0; return; }
  python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["by_reason"].get("no_pinhole", 0))' "$TB_TMP/stats.json"
}
engine_stat() {  # engine_stat KEY...: a number from the last stats file
  python3 -c 'import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2:]: v = v.get(k, {}) if isinstance(v, dict) else {}
print(v if isinstance(v, int) else 0)' "$TB_TMP/stats.json" "$@"
}
queue_seq() { ip netns exec "$TB_PBX" awk '$1 == 0 {print $8}' /proc/net/netfilter/nfnetlink_queue; }

# --- The calls ---------------------------------------------------------------------------------
queue_before=$(queue_seq)
testbed_engine_stats "$TB_TMP/stats.json"
rtp_accept_before=$(($(engine_stat by_service rtp internet accept) + $(engine_stat by_service udptl internet accept)))
# Each call waits for the test (media_call_next) once answered and after its re-INVITE.
media_call callA "$caller_a" 5070 "$caller_a" 20000 10000 10002
media_call callB "$caller_b" 5072 "$nat_sdp_ip" 20002 10004 10004
media_call callF "$fax" 5074 "$fax" 20004 4000 4000 fax
if ! { media_call_reached callA up && media_call_reached callB up && media_call_reached callF up; }; then
  fail "the calls were not answered within 15 s (sipp: $(tail -3 "$TB_TMP/callA.out" | tr '\n' ' '))"
  finish
  exit 1
fi
echo "calls up: A $caller_a (PBX port 10000), B $caller_b behind NAT (SDP c=$nat_sdp_ip, PBX port 10004)," \
  "fax $fax (T.38, PBX port 4000)"

# Phase 1: both calls' media, and the injector on A's negotiated port.
media_stream a1 "$caller_a" 20000 10000 $stream_count
media_stream b1 "$caller_b" 20002 10004 $stream_count
media_stream f1 "$fax" 20004 4000 $probe_count
media_stream inj "$injector" 40000 10000 $probe_count
media_stream inj_fax "$injector" 40002 4000 $probe_count
sleep 1  # the streams flow: the pinholes are in use
explain_out=$("$PBXGATE" explain --media --json --runtime-dir "$TB_TMP/run" 2>&1) || true
media_stream_wait a1 b1 f1 inj inj_fax
check "call A: RTP caller -> PBX (delivered of $(media_field a1 sent))" "$(media_field a1 sent)" "$(media_delivered 10000 $caller_a)"
check "call A: RTP PBX -> caller (echoes received of $(media_field a1 sent))" "$(media_field a1 sent)" "$(media_field a1 echoed)"
check "call B behind NAT (c=$nat_sdp_ip, packets from $caller_b): RTP caller -> PBX (of $(media_field b1 sent))" \
  "$(media_field b1 sent)" "$(media_delivered 10004 $caller_b)"
check "call B behind NAT: RTP PBX -> caller (echoes of $(media_field b1 sent))" "$(media_field b1 sent)" "$(media_field b1 echoed)"
check "fax call (T.38): UDPTL caller -> PBX port 4000 (of $(media_field f1 sent))" "$(media_field f1 sent)" \
  "$(media_delivered 4000 $fax)"
check "fax call (T.38): UDPTL PBX -> caller (echoes of $(media_field f1 sent))" "$(media_field f1 sent)" "$(media_field f1 echoed)"
injected=$(($(media_field inj sent) + $(media_field inj_fax sent)))
inj_through=$(($(media_delivered 10000 $injector) + $(media_delivered 4000 $injector)))
check "injected RTP from $injector to call A's port 10000: delivered of $(media_field inj sent)" 0 \
  "$(media_delivered 10000 $injector)" "$why"
check "injected UDPTL from $injector to the fax call's port 4000: delivered of $(media_field inj_fax sent)" 0 \
  "$(media_delivered 4000 $injector)" "$why"
check "injected RTP and UDPTL: echoes the injector got" 0 "$(($(media_field inj echoed) + $(media_field inj_fax echoed)))" "$why"
np1=$(no_pinhole)
check "engine no_pinhole drops after the injection (= the $injected injected)" "$injected" "$np1" "$why"
# The pinholes the engine held during the calls (`explain --media --json`, read with python's
# json): A's RTP and RTCP ports from its address, B's from its signalling address (NAT) and
# from its SDP's c=, the fax's UDPTL port.
missing=$(python3 -c 'import json, sys
try: rows = json.loads(sys.argv[1])["pinholes"]
except Exception: print("unreadable: " + sys.argv[1][:200].replace("\n", "|")); sys.exit()
have = {(r.get("port"), r.get("remote")) for r in rows}
want = [(int(w.split("@")[0]), w.split("@")[1]) for w in sys.argv[2:]]
print(" ".join("%d@%s" % w for w in want if w not in have) or "none")' "$explain_out" \
  "10000@$caller_a" "10001@$caller_a" "10004@$caller_b" "10005@$caller_b" "10004@$nat_sdp_ip" "4000@$fax")
check "pbxgate explain --media during the calls: pinholes missing (PORT@REMOTE)" none "$missing"

# Phase 2: the re-INVITE moved A's PBX port to 10002. The new port delivers at once; the old
# one drops once its pinhole's grace period is over.
for c in callA callB callF; do media_call_next $c up; done
if ! { media_call_reached callA moved && media_call_reached callB moved && media_call_reached callF moved; }; then
  fail "no re-INVITE answered within 15 s"
fi
moved_at=$(date +%s.%N)
old_before=$(media_delivered 10000 $caller_a)
sleep 0.5  # the re-INVITEs' ACKs reach the PBX first: then nothing but this stream does
queue_a2_before=$(queue_seq)
media_stream a2 "$caller_a" 20000 10002 $stream_count
media_stream_wait a2
queue_a2=$(($(queue_seq) - queue_a2_before))
check "after the re-INVITE: RTP to the new port 10002 (delivered of $(media_field a2 sent))" "$(media_field a2 sent)" \
  "$(media_delivered 10002 $caller_a)"
check "after the re-INVITE: echoes from the new port" "$(media_field a2 sent)" "$(media_field a2 echoed)"
sleep "$(python3 -c "import sys; print(max(0.0, $moved_at + $grace + 1 - float(sys.argv[1])))" "$(date +%s.%N)")"
media_stream a_old "$caller_a" 20000 10000 $probe_count
media_stream_wait a_old
check "after the re-INVITE + ${grace} s: RTP to the old port 10000 delivered (of $(media_field a_old sent))" 0 \
  "$(($(media_delivered 10000 $caller_a) - old_before))" "$why"

# After BYE: the dialogs' pinholes close after the grace period.
for c in callA callB callF; do media_call_next $c moved; done
if ! { media_call_reached callA bye && media_call_reached callB bye && media_call_reached callF bye; }; then
  fail "the calls did not end with BYE/200"
fi
bye_at=$(date +%s.%N)
# Within the grace period the call's late media still passes.
b_late_before=$(media_delivered 10004 $caller_b)
media_stream b_late "$caller_b" 20002 10004 10
media_stream_wait b_late
check "call B, within ${grace} s after BYE: late RTP delivered (of $(media_field b_late sent))" \
  "$(media_field b_late sent)" "$(($(media_delivered 10004 $caller_b) - b_late_before))"
sleep "$(python3 -c "import sys; print(max(0.0, $bye_at + $grace + 1 - float(sys.argv[1])))" "$(date +%s.%N)")"
a_before=$(media_delivered 10002 $caller_a)
b_before=$(media_delivered 10004 $caller_b)
media_stream a_bye "$caller_a" 20000 10002 $probe_count
media_stream b_bye "$caller_b" 20002 10004 $probe_count
media_stream_wait a_bye b_bye
check "call A, $((grace + 1)) s after BYE: RTP delivered (of $(media_field a_bye sent))" 0 \
  "$(($(media_delivered 10002 $caller_a) - a_before))" "$why"
check "call B, $((grace + 1)) s after BYE: RTP delivered (of $(media_field b_bye sent))" 0 \
  "$(($(media_delivered 10004 $caller_b) - b_before))" "$why"

for c in callA callB callF; do
  rc=0
  wait "${MEDIA_UAC_PID[$c]}" || rc=$?
  check "$c: sipp UAC exit status (every request answered)" 0 "$rc" "$(tail -3 "$TB_TMP/$c.out" | tr '\n' ' ')"
done
np_end=$(no_pinhole)
expected_drops=$((injected + $(media_field a_old sent) + $(media_field a_bye sent) + $(media_field b_bye sent)))
check "engine no_pinhole drops at the end (injected + old port + after BYE)" "$expected_drops" "$np_end" "$why"

# --- For the record ----------------------------------------------------------------------------
queue_after=$(queue_seq)
call_sent=$(($(media_field a1 sent) + $(media_field b1 sent) + $(media_field f1 sent) + $(media_field a2 sent) + $(media_field b_late sent)))
rtp_accepted=$(($(engine_stat by_service rtp internet accept) + $(engine_stat by_service udptl internet accept) - rtp_accept_before))
all_sent=$((call_sent + injected + $(media_field a_old sent) + $(media_field a_bye sent) + $(media_field b_bye sent)))
python3 - "$call_sent" "$rtp_accepted" "$((queue_after - queue_before))" "$all_sent" "$injected" \
  "$((inj_through))" "$queue_a2" "$(media_field a2 sent)" <<'PY'
import sys
call, judged, queued, sent, injected, through, q2, a2 = map(int, sys.argv[1:])
print("figures: call A's RTP after the re-INVITE, alone on the wire: %d of %d packets reached the kernel queue "
      "(%.1f%%)" % (q2, a2, 100.0 * q2 / a2 if a2 else 0))
print("figures: the calls' RTP and UDPTL to the PBX: %d packets; judged and accepted by the engine: %d (%.1f%%, the rest "
      "offloaded to the kernel)" % (call, judged, 100.0 * judged / call if call else 0))
print("figures: kernel queue 0 (id counter, /proc/net/netfilter/nfnetlink_queue): %d packets queued during the "
      "calls, of %d media datagrams sent to the PBX plus the SIP both ways" % (queued, sent))
print("figures: injected RTP/UDPTL packets that got through: %d of %d" % (through, injected))
PY
[ "$pinholes" = 1 ] || echo "NOTE: $why"
finish
