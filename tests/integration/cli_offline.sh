#!/usr/bin/env bash
# The offline half of the CLI, driven as an admin would: check, explain, replay.
source "$(dirname "$0")/lib.sh"
policy=$PBXGATE_SOURCE_DIR/policies/freepbx.toml
site=$PBXGATE_SOURCE_DIR/policies/examples/site.toml
pcaps=$PBXGATE_SHARED_DIR/pcaps
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# --- check
out=$("$PBXGATE" check "$policy"); rc=$?
expect_eq "check shipped policy exit" 0 "$rc"
expect_contains "check summary" "ok: 25 services" "$out"
"$PBXGATE" check "$site" >/dev/null; expect_eq "check site example exit" 0 "$?"

cat >"$tmp/broken.toml" <<'TOML'
extends = "missing-base.toml"
[zones]
lan = ["192.168.1.1/16"]
[services.sip]
proto = "udp"
ports = [70000]
allow = ["internet", "galaxy"]
colour = "blue"
TOML
set +e; err=$("$PBXGATE" check "$tmp/broken.toml" 2>&1 >/dev/null); rc=$?; set -e
expect_eq "check broken exit" 1 "$rc"
expect_contains "missing extends located" "$tmp/broken.toml:1:" "$err"
expect_contains "host bits located" "$tmp/broken.toml:3:" "$err"
expect_contains "port range located" "$tmp/broken.toml:6:" "$err"
expect_contains "unknown zone located" "$tmp/broken.toml:7:" "$err"
expect_contains "unknown key located" "$tmp/broken.toml:8:" "$err"
expect_eq "every error on its own line, all at once" 5 "$(grep -c ': error: ' <<<"$err")"

set +e; "$PBXGATE" check "$tmp/does-not-exist.toml" 2>"$tmp/err"; rc=$?; set -e
expect_eq "check missing file exit" 1 "$rc"
expect_contains "missing file named" "does-not-exist.toml" "$(cat "$tmp/err")"

# --- explain (JSON contract: verdict, zone, service, reason)
explain() { "$PBXGATE" explain --policy "$policy" --json "$@"; }
j=$(explain --proto udp --src 203.0.113.5 --dport 5060)
expect_eq "sip from internet" "accept internet sip allowed" \
  "$(json_get "$j" verdict) $(json_get "$j" zone) $(json_get "$j" service) $(json_get "$j" reason)"
j=$(explain --proto tcp --src 203.0.113.5 --dport 22)
expect_eq "ssh from internet" "drop internet ssh zone_not_allowed" \
  "$(json_get "$j" verdict) $(json_get "$j" zone) $(json_get "$j" service) $(json_get "$j" reason)"
j=$(explain --proto tcp --src 192.168.1.20 --dport 22)
expect_eq "ssh from lan" "accept lan ssh allowed" \
  "$(json_get "$j" verdict) $(json_get "$j" zone) $(json_get "$j" service) $(json_get "$j" reason)"
j=$(explain --proto tcp --src 127.0.0.1 --dport 8443)
expect_eq "talk-node from localhost" "accept localhost talk-node allowed" \
  "$(json_get "$j" verdict) $(json_get "$j" zone) $(json_get "$j" service) $(json_get "$j" reason)"
j=$(explain --proto udp --src 2001:db8::7 --dport 6100)
expect_eq "local-reserved from internet v6" "drop internet local-reserved zone_not_allowed" \
  "$(json_get "$j" verdict) $(json_get "$j" zone) $(json_get "$j" service) $(json_get "$j" reason)"
j=$(explain --proto udp --src 203.0.113.5 --dport 9999)
expect_eq "unclaimed port" "drop null no_service" "$(json_get "$j" verdict) $(json_get "$j" service) $(json_get "$j" reason)"
j=$(explain --proto icmp --src 203.0.113.5 --icmp-type 3)
expect_eq "icmp unreachable" "accept icmp_allowed" "$(json_get "$j" verdict) $(json_get "$j" reason)"
j=$("$PBXGATE" explain --policy "$site" --json --proto udp --src 203.0.113.5 --dport 5160)
expect_eq "site file moved SIP to 5160: blocked range" "drop blocked" "$(json_get "$j" verdict) $(json_get "$j" reason)"
j=$("$PBXGATE" explain --policy "$site" --json --proto udp --src 198.51.100.77 --dport 5160)
expect_eq "site file moved SIP to 5160" "accept sip" "$(json_get "$j" verdict) $(json_get "$j" service)"
j=$("$PBXGATE" explain --policy "$site" --json --proto udp --src 198.51.100.77 --dport 5060)
expect_eq "site file: 5060 no longer SIP" "drop no_service" "$(json_get "$j" verdict) $(json_get "$j" reason)"
out=$("$PBXGATE" explain --policy "$policy" --proto tcp --src 203.0.113.5 --dport 22)
expect_contains "human explanation names the allowed zones" "allows only localhost, trusted, lan" "$out"

# --- wrong flags: exit 2 with a message, never a crash
for args in "explain --policy $policy --proto sctp --src 192.0.2.1 --dport 1" \
            "explain --policy $policy --proto udp --src 192.0.2.1 --dport 70000" \
            "explain --policy $policy --proto udp --src not-an-ip --dport 5060" \
            "explain --policy $policy --proto udp --src 192.0.2.1" \
            "replay --policy $policy" \
            "frobnicate"; do
  set +e; "$PBXGATE" $args >/dev/null 2>"$tmp/err"; rc=$?; set -e
  expect_eq "usage error exit for: $args" 2 "$rc"
  [ -s "$tmp/err" ] && pass || fail "no message for: $args"
done

# --- replay
j=$("$PBXGATE" replay --policy "$policy" --json --passes 2 --per-packet "$tmp/pp.jsonl" \
      "$pcaps/arkime_ssh2.pcap" "$pcaps/heplify_rtp_rtcp_sip_ipv4_udp.pcap")
expect_eq "replay packets" 4127 "$(json_get "$j" packets)"
expect_eq "replay accept" 578 "$(json_get "$j" accept)"
expect_eq "replay drop" 3549 "$(json_get "$j" drop)"
expect_eq "replay skipped" 164 "$(json_get "$j" skipped)"
expect_eq "replay by_service ssh" 11 "$(json_get "$j" by_service ssh)"
expect_eq "replay by_zone lan" 22 "$(json_get "$j" by_zone lan)"
expect_eq "replay by_reason zone_not_allowed" 208 "$(json_get "$j" by_reason zone_not_allowed)"
ns=$(json_get "$j" ns_per_packet)
python3 -c "import sys; v=float(sys.argv[1]); sys.exit(0 if 0 < v < 100000 else 1)" "$ns" \
  && pass || fail "ns_per_packet is a positive measurement: $ns"
expect_eq "per-packet lines" 4127 "$(wc -l <"$tmp/pp.jsonl")"
first=$(head -1 "$tmp/pp.jsonl")
expect_eq "per-packet first line" "0 accept lan ssh allowed" \
  "$(json_get "$first" index) $(json_get "$first" verdict) $(json_get "$first" zone) $(json_get "$first" service) $(json_get "$first" reason)"

set +e; "$PBXGATE" replay --policy "$policy" "$tmp/broken.toml" >/dev/null 2>"$tmp/err"; rc=$?; set -e
expect_eq "replay of a non-capture exit" 1 "$rc"
expect_contains "replay names the bad file" "broken.toml" "$(cat "$tmp/err")"

finish
