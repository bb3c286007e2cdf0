#!/usr/bin/env bash
# `pbxgate replay --pbx`: SIP protection on capture time, as an admin runs it. The svmap scan
# of the LBNL trace bans each of its 11 sources; per-packet rows carry the SIP reasons; the
# ordinary call capture bans nobody; a bad --pbx is a usage error.
source "$(dirname "$0")/lib.sh"
policy=$PBXGATE_SOURCE_DIR/policies/freepbx.toml
pcaps=$PBXGATE_SHARED_DIR/pcaps
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

j=$("$PBXGATE" replay --policy "$policy" --json --passes 1 --pbx 152.28.49.156 \
      --per-packet "$tmp/pp.jsonl" "$pcaps/initconf_BadUserAgent-sipvicious.pcap")
expect_eq "replay exit" 0 "$?"
bans=$(python3 -c 'import json,sys; b=json.loads(sys.argv[1])["bans"]; print(len(b), sorted({x["reason"] for x in b}), b[0]["index"], b[0]["duration_s"])' "$j")
expect_eq "11 scanner bans, the first at packet 0, for 24 h" "11 ['scanner'] 0 86400" "$bans"
expect_eq "per-packet rows name the scanner drops" 11 "$(grep -c '"reason":"scanner"' "$tmp/pp.jsonl")"
expect_eq "and the banned sources' later packets" 15 "$(grep -c '"reason":"banned"' "$tmp/pp.jsonl")"

j=$("$PBXGATE" replay --policy "$policy" --json --passes 1 --pbx 200.57.7.195 "$pcaps/heplify_rtp_rtcp_sip_ipv4_udp.pcap")
expect_eq "an ordinary call bans nobody" "[]" "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["bans"])' "$j")"

j=$("$PBXGATE" replay --policy "$policy" --json --passes 1 "$pcaps/initconf_BadUserAgent-sipvicious.pcap")
expect_eq "without --pbx: the port policy alone, no bans key" "False" \
  "$(python3 -c 'import json,sys; print("bans" in json.loads(sys.argv[1]))' "$j")"

set +e; err=$("$PBXGATE" replay --policy "$policy" --pbx 192.0.2.300 "$pcaps/sipp_g711a.pcap" 2>&1); rc=$?; set -e
expect_eq "bad --pbx exit" 2 "$rc"
expect_contains "bad --pbx named" "192.0.2.300" "$err"
finish
