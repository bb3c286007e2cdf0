# shellcheck shell=bash
# The media rig shared by scripts/demo and tests/integration/media_pinholes_e2e.sh: calls with
# SDP between sipp UACs in the internet namespace and a sipp UAS in the PBX namespace
# (tests/integration/sip/media_uac.xml, media_uas.xml), the PBX's media served by
# rtp_peer.py echo (counts per port and source, echoes back), RTP streams from any internet
# address. Source it after scripts/lib/testbed.sh, call the helpers after testbed_start:
# what they start goes into TB_PIDS, so testbed_cleanup ends it.

MEDIA_RIG_DIR=$TB_SRC/tests/integration/sip
MEDIA_PBX_ADDR=203.0.113.1
MEDIA_COUNTS=""
declare -gA MEDIA_UAC_PID MEDIA_UAC_SIP MEDIA_STREAM_PID

# media_pbx_start PORTS CALLS: the PBX's media echo on PORTS (comma list) and the sipp UAS
# on udp/5060 answering CALLS calls; waits (10 s) until both listen.
media_pbx_start() {
  MEDIA_COUNTS=$TB_TMP/media-counts.json
  ip netns exec "$TB_PBX" python3 "$MEDIA_RIG_DIR/rtp_peer.py" echo --ports "$1" --out "$MEDIA_COUNTS" \
    --ready "$TB_TMP/media-ready" --max-seconds 120 &
  TB_PIDS+=($!)
  ip netns exec "$TB_PBX" timeout 100 sipp -sf "$MEDIA_RIG_DIR/media_uas.xml" -i "$MEDIA_PBX_ADDR" -p 5060 -m "$2" \
    -nostdin -trace_err -error_file "$TB_TMP/uas.err" >"$TB_TMP/uas.out" 2>&1 </dev/null &
  TB_PIDS+=($!)
  tb_wait_for 10 test -f "$TB_TMP/media-ready" || { echo "media rig: rtp_peer echo did not start" >&2; return 1; }
  tb_wait_for 10 media_uas_listens || { cat "$TB_TMP/uas.out" >&2; echo "media rig: sipp UAS did not start" >&2; return 1; }
}
media_uas_listens() { ip netns exec "$TB_PBX" ss -lun 2>/dev/null | grep -q "$MEDIA_PBX_ADDR:5060"; }

# media_call NAME ADDR SIP_PORT SDP_IP RTP_PORT PBX_PORT PBX_PORT2 [fax]: one call from ADDR
# in the background (media_uac.xml): its SDP says c=SDP_IP, RTP on RTP_PORT; the PBX answers
# with PBX_PORT; a re-INVITE moves it to PBX_PORT2 (the same port: no move); then BYE. The
# call waits for media_call_next after it is up and after the re-INVITE. With "fax" both
# sides offer T.38 (m=image udptl t38) instead of audio. Its pid is MEDIA_UAC_PID[NAME], its
# output NAME.out.
media_call() {
  local media=audio proto="RTP/AVP 8"
  if [ "${8:-}" = fax ]; then media=image proto="udptl t38"; fi
  MEDIA_UAC_SIP[$1]=$2:$3
  ip netns exec "${TB_NS[inet]}" timeout 150 sipp "$MEDIA_PBX_ADDR:5060" -sf "$MEDIA_RIG_DIR/media_uac.xml" -i "$2" \
    -p "$3" -m 1 -nostdin -set sdp_ip "$4" -set rtp_port "$5" -set pbx_port "$6" -set pbx_port2 "$7" \
    -set marker "$TB_TMP/$1" -set media "$media" -set proto "$proto" -trace_err -error_file "$TB_TMP/$1.err" \
    >"$TB_TMP/$1.out" 2>&1 </dev/null &
  # shellcheck disable=SC2034 # read by the caller
  MEDIA_UAC_PID[$1]=$!
  TB_PIDS+=($!)
}
# media_call_reached NAME STEP [SECONDS]: waits (default 15 s) until call NAME reached STEP
# (up: answered; moved: the re-INVITE answered; bye: BYE answered).
media_call_reached() { tb_wait_for "${3:-15}" test -s "$TB_TMP/$1-$2"; }
# media_call_next NAME STEP: lets call NAME, waiting at STEP (up or moved), go on: an OPTIONS
# with its Call-ID to its SIP port, sent inside the internet namespace (it never crosses the
# PBX or the engine).
media_call_next() {
  local sip=${MEDIA_UAC_SIP[$1]}
  ip netns exec "${TB_NS[inet]}" python3 -c 'import socket, sys
addr, port = sys.argv[1].rsplit(":", 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((addr, 0))
msg = ("OPTIONS sip:caller@%s:%s SIP/2.0\r\nVia: SIP/2.0/UDP %s:%d;branch=z9hG4bK-rig-%s\r\n"
       "From: <sip:rig@%s>;tag=rig\r\nTo: <sip:caller@%s>\r\nCall-ID: %s\r\nCSeq: 1 OPTIONS\r\n"
       "Content-Length: 0\r\n\r\n") % (addr, port, addr, s.getsockname()[1], sys.argv[3], addr, addr, sys.argv[2])
s.sendto(msg.encode(), (addr, int(port)))' "$sip" "$(head -1 "$TB_TMP/$1-$2")" "$2"
}

# media_stream NAME SRC SPORT DPORT COUNT: COUNT RTP packets at 50/s from SRC:SPORT (internet
# namespace) to the PBX's DPORT, in the background; {"sent","echoed"} lands in NAME.json.
media_stream() {
  ip netns exec "${TB_NS[inet]}" timeout 30 python3 "$MEDIA_RIG_DIR/rtp_peer.py" stream --src "$2" --sport "$3" \
    --dst "$MEDIA_PBX_ADDR" --dport "$4" --count "$5" --rate 50 --linger 0.5 >"$TB_TMP/$1.json" 2>"$TB_TMP/$1.err" &
  MEDIA_STREAM_PID[$1]=$!
  TB_PIDS+=($!)
}
# media_stream_wait NAME...: waits for those streams, then for the echo's counts file.
media_stream_wait() {
  local n
  for n in "$@"; do wait "${MEDIA_STREAM_PID[$n]}" || true; done
  sleep 0.3
}
# media_field NAME KEY: sent or echoed of stream NAME (0 when it wrote nothing).
media_field() {
  python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], 0))' "$TB_TMP/$1.json" "$2" \
    2>/dev/null || echo 0
}
# media_delivered PORT ADDR: datagrams from ADDR the PBX received on PORT so far.
media_delivered() {
  python3 -c 'import json, sys
print(json.load(open(sys.argv[1])).get(sys.argv[2], {}).get(sys.argv[3], 0))' "$MEDIA_COUNTS" "$1" "$2"
}
