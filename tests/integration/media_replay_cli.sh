#!/usr/bin/env bash
# `pbxgate replay --pbx` judges the shared call captures' media by their SDP, as the engine
# does inline. What each packet should get is worked out here without pbxgate (tcpdump's
# reading of the capture, sip/media_replay_expect.py) and compared with the replay's
# per-packet rows and totals:
#   heplify_rtp_rtcp_sip_ipv4_udp.pcap, the PBX = 200.57.7.195 (its SIP) and 200.57.7.196
#     (its media) calling out: its INVITE's SDP says c=200.57.7.196 m=audio 40376, the
#     callee's 200 OK says c=200.57.7.204, so 200.57.7.204's RTP to 40376 and RTCP to 40377
#     are accepted (reason pinhole); the media of another leg (200.57.7.199 -> 40378/40379,
#     whose SDP is not in the capture) and a stray stream from 200.57.7.202 are no_pinhole.
#   sipp_g711a.pcap and the asterisk_* RTP-only captures (no SIP at all), the PBX = their
#     destination: every packet to a media port is no_pinhole; a stream to a port no media
#     service holds is not media (no_service, never no_pinhole).
#   The shipped zones: RTP from the LAN keeps the open range (accepted, no pinhole needed).
# The site policy widens [services.rtp] to the captures' ports (a PBX whose rtp.conf says so)
# and makes every capture host but 192.168/16 an internet source.
source "$(dirname "$0")/lib.sh"
pcaps=$PBXGATE_SHARED_DIR/pcaps
expect_py=$PBXGATE_SOURCE_DIR/tests/integration/sip/media_replay_expect.py
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
require_tools sip tcpdump

check() {  # check WHAT EXPECTED ACTUAL: one PASS/FAIL line, counted by lib.sh
  if [ "$2" == "$3" ]; then pass; echo "PASS: $1: $3"; else fail "$1: got $3, expected $2"; fi
}

rtp_ports="2006,10000-20000,40000-40999"
udptl_ports="4000-4568,4570-4999"
cat >"$tmp/site.toml" <<TOML
extends = "$PBXGATE_SOURCE_DIR/policies/freepbx.toml"
[zones]
lan = ["192.168.0.0/16"]
[services.rtp]
ports = ["2006", "10000-20000", "40000-40999"]
media = "negotiated"
[services.udptl]
media = "negotiated"
TOML
if ! "$PBXGATE" check "$tmp/site.toml" >"$tmp/check.out" 2>&1; then
  fail "pbxgate check refuses the media policy (no media pinholes in this engine?): $(head -1 "$tmp/check.out")"
fi

# replay_case NAME CAPTURE PBX PINHOLES [EXPECTED_PINHOLE EXPECTED_NO_PINHOLE]: replays, works the
# expectations out, checks the rows and the totals; the two numbers (when given) pin what
# the expectation helper must find, so it cannot drift into agreeing with nothing.
replay_case() {
  local name=$1 capture=$pcaps/$2 pbx=$3 pinholes=$4 j e by
  : >"$tmp/$name.jsonl"
  j=$("$PBXGATE" replay --policy "$tmp/site.toml" --json --passes 1 --pbx "$pbx" --per-packet "$tmp/$name.jsonl" \
    "$capture" 2>"$tmp/$name.err") || { fail "$name: replay failed: $(head -2 "$tmp/$name.err")"; return; }
  e=$(tcpdump -# -n -v -r "$capture" 2>/dev/null | python3 "$expect_py" --pbx "$pbx" \
    --ports "$rtp_ports,$udptl_ports" --lan 192.168.0.0/16 --pinhole "$pinholes" --per-packet "$tmp/$name.jsonl")
  by=$(python3 -c 'import json, sys; b = json.loads(sys.argv[1]).get("by_reason", {})
print(b.get("pinhole", 0), b.get("no_pinhole", 0))' "$j")
  local ep enp
  ep=$(json_get "$e" expected_pinhole)
  enp=$(json_get "$e" expected_no_pinhole)
  if [ $# -ge 6 ]; then
    check "$name: packets the capture's SDP opens (worked out from tcpdump)" "$5" "$ep"
    check "$name: media packets without SDP (worked out from tcpdump)" "$6" "$enp"
  fi
  check "$name: rows accepted with reason pinhole, of $ep expected" "$ep" "$(json_get "$e" pinhole_ok)"
  check "$name: rows dropped with reason no_pinhole, of $enp expected" "$enp" "$(json_get "$e" no_pinhole_ok)"
  check "$name: rows saying no_pinhole for other packets" 0 "$(json_get "$e" other_no_pinhole)"
  check "$name: rows saying pinhole for other packets" 0 "$(json_get "$e" other_pinhole)"
  check "$name: totals by_reason pinhole, no_pinhole" "$ep $enp" "$by"
}

# The call capture holds both SDPs (read with tcpdump, not pbxgate).
sdp=$(tcpdump -n -A -r "$pcaps/heplify_rtp_rtcp_sip_ipv4_udp.pcap" 'udp port 5060' 2>/dev/null | tr -d '\r')
expect_contains "heplify: the PBX's INVITE SDP (its media port)" "m=audio 40376 RTP/AVP" "$sdp"
expect_contains "heplify: the callee's 200 OK SDP (its media address)" "c=IN IP4 200.57.7.204" "$sdp"
# From tcpdump's flow counts: 548 RTP + 8 RTCP from 200.57.7.204 to 40376/40377; without SDP:
# 891 + 6 from .199 to 40378/40379, 6 from .202 to 40362.
replay_case heplify heplify_rtp_rtcp_sip_ipv4_udp.pcap 200.57.7.195,200.57.7.196 "40376-40377@200.57.7.204" 556 903

# RTP without any SIP: every packet to a media port is no_pinhole.
replay_case sipp_g711a sipp_g711a.pcap 10.1.6.18 "" 0 236
replay_case asterisk_40msalaw asterisk_40msalaw.pcap 81.201.86.81 "" 0 826
replay_case asterisk_CARRIER asterisk_CARRIER_G711U.pcap 81.201.84.200 "" 0 800
replay_case asterisk_ulaw asterisk_ulaw-2013785496.pcap 10.0.0.45 "" 0 974
replay_case asterisk_opus asterisk_opus_48khz_60_fec_rtp.pcapng 10.24.17.123 "" 0 3000
# To port 35886, outside every media service: not media, so never no_pinhole.
replay_case asterisk_A_party asterisk_A_party_g711a.pcap 192.168.99.53 "" 0 0

# The shipped zones: the ulaw capture's 10.0.0.51 is LAN, whose RTP keeps the open range.
j=$("$PBXGATE" replay --policy "$PBXGATE_SOURCE_DIR/policies/freepbx.toml" --json --passes 1 --pbx 10.0.0.45 \
  "$pcaps/asterisk_ulaw-2013785496.pcap")
check "shipped policy, LAN RTP (asterisk_ulaw): accepted, no_pinhole" "974 0" \
  "$(python3 -c 'import json, sys; j = json.loads(sys.argv[1]); print(j["accept"], j["by_reason"].get("no_pinhole", 0))' "$j")"
finish
