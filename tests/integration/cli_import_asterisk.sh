#!/usr/bin/env bash
# The Asterisk import from the CLI, as an admin drives it: import-asterisk (TOML ready to
# paste, JSON), check (warns when the site file disagrees with Asterisk), explain (names
# the file and line of an imported port). No root needed.
source "$(dirname "$0")/lib.sh"
corpus=$PBXGATE_SOURCE_DIR/tests/data/asterisk-configs/theo-ai-voice-agent
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
ast=$tmp/asterisk
mkdir -p "$ast"
for f in pjsip.conf http.conf rtp.conf; do ln -s "$corpus/$f" "$ast/$f"; done
# chan_iax2 on its default 4569, inside udptl's 4000-4999.
printf '[general]\n' >"$ast/iax.conf"

# --- JSON: one object per port, keys service, proto, ports, source
json=$("$PBXGATE" import-asterisk --config-dir "$ast" --json 2>/dev/null)
expect_eq "json: sip moved to 5160, from pjsip.conf line 12" "sip udp 5160 $ast/pjsip.conf:12" \
  "$(python3 -c 'import json,sys
for p in json.loads(sys.argv[1]):
    if p["service"] == "sip": print(p["service"], p["proto"], p["ports"], p["source"])' "$json")"
expect_eq "json: every object has exactly the four keys" "ok" \
  "$(python3 -c 'import json,sys
v = json.loads(sys.argv[1])
print("ok" if v and all(sorted(p) == ["ports", "proto", "service", "source"] for p in v) else "bad")' "$json")"

# --- TOML: pasted under a site file, it checks and pins the ports
toml=$("$PBXGATE" import-asterisk --config-dir "$ast" 2>/dev/null)
expect_contains "toml: rtp range with RTCP" 'ports = ["20000-20101"]' "$toml"
expect_contains "toml: udptl leaves 4569 to iax" 'ports = ["4000-4568", "4570-4999"]' "$toml"
printf 'extends = "%s/policies/freepbx.toml"\n%s\n' "$PBXGATE_SOURCE_DIR" "$toml" >"$tmp/pinned.toml"
out=$("$PBXGATE" check "$tmp/pinned.toml" 2>&1); rc=$?
expect_eq "pasted TOML checks" 0 "$rc"
out=$("$PBXGATE" explain --policy "$tmp/pinned.toml" --proto tcp --src 192.168.1.5 --dport 8188)
expect_contains "pinned webrtc port" "service:  webrtc 8188/tcp" "$out"

# --- [asterisk] import = true: explain names the source; check warns on a disagreeing site port
cat >"$tmp/site.toml" <<TOML
extends = "$PBXGATE_SOURCE_DIR/policies/freepbx.toml"

[services.webrtc-tls]
ports = [8444]

[asterisk]
config_dir = "asterisk"
import = true
TOML
out=$("$PBXGATE" explain --policy "$tmp/site.toml" --proto udp --src 203.0.113.5 --dport 5160)
expect_contains "explain: verdict" "verdict:  accept" "$out"
expect_contains "explain: the source of the imported port" "source:   sip 5160/udp from $ast/pjsip.conf:12" "$out"
out=$("$PBXGATE" check "$tmp/site.toml" 2>&1); rc=$?
expect_eq "check with a disagreeing site port still passes" 0 "$rc"
expect_contains "check warns, with the site line" "$tmp/site.toml:4:9: warning: services.webrtc-tls ports 8444/tcp are set here, but Asterisk listens on 8189/tcp ($ast/http.conf:11)" "$out"

# --- a configuration Asterisk would refuse: FILE:LINE:COL, exit 1
printf '[general]\n#include rtp_custom.conf\n' >"$tmp/rtp.conf"
rm "$ast/rtp.conf"; cp "$tmp/rtp.conf" "$ast/rtp.conf"
set +e; err=$("$PBXGATE" import-asterisk --config-dir "$ast" 2>&1 >/dev/null); rc=$?; set -e
expect_eq "broken config exit" 1 "$rc"
expect_contains "broken config located" "$ast/rtp.conf:2:1: error:" "$err"
finish
