#!/usr/bin/env bash
# [asterisk] import = true, live: the PBX namespace has an Asterisk config dir whose PJSIP
# transport listens on 5060; the engine follows it. pjsip.transports.conf is rewritten in
# place (as FreePBX's Apply does) to move SIP to 5160: within 3 s 5160 reaches the PBX from
# the internet and 5060 is dropped, and the log has the one-line diff naming the file. A
# broken file then changes nothing (the last good generation stays; FILE:LINE:COL logged).
# Prints the time from the rewrite to the first packet judged by the new ports.
source "$(dirname "$0")/lib.sh"
source "$PBXGATE_SOURCE_DIR/scripts/lib/testbed.sh"
testbed_require_root
trap testbed_cleanup EXIT
testbed_start e2east

ast=$TB_TMP/asterisk
mkdir -p "$ast"
printf '[global]\ntype=global\n\n#include pjsip.transports.conf\n' >"$ast/pjsip.conf"
transports=$ast/pjsip.transports.conf
write_transport() { printf '[0.0.0.0-udp]\ntype=transport\nprotocol=udp\nbind=0.0.0.0:%s\n' "$1" >"$transport_target"; }
transport_target=$transports
write_transport 5060
# RTP off the ports under test (Asterisk's own default 5000-31000 would cover 5160).
printf '[general]\nrtpstart=10000\nrtpend=20000\n' >"$ast/rtp.conf"
policy=$TB_TMP/site.toml
cat >"$policy" <<TOML
extends = "$PBXGATE_SOURCE_DIR/tests/data/policies/testbed.toml"

[asterisk]
config_dir = "asterisk"
import = true
TOML

expect_contains "import-asterisk sees the transport" "5060/udp from $transports:4" \
  "$("$PBXGATE" import-asterisk --config-dir "$ast" 2>&1)"
testbed_rules "$policy" || { echo "FAIL: pbxgate-rules apply" >&2; exit 1; }
testbed_serve "" 5060,5160
log=$TB_TMP/engine.log
testbed_engine_start "$log" --policy "$policy"
inet=${TB_NS[inet]}

probe_both() {
  python3 "$PBXGATE_SOURCE_DIR/tests/integration/probe.py" many --timeout 1.0 \
    "$inet,p5060,udp,203.0.113.10,203.0.113.1,5060" "$inet,p5160,udp,203.0.113.10,203.0.113.1,5160" | tr '\n' ' '
}
expect_eq "before: SIP on 5060 only" "p5060 delivered p5160 dropped " "$(probe_both)"

# The rewrite and the measurement in one process, in the internet client's namespace: the
# file is truncated and rewritten in place, then a datagram goes to 5160 every 20 ms until
# the echo comes back (at most 3 s).
elapsed=$(ip netns exec "$inet" python3 - "$transports" <<'PY'
import socket, sys, time
path = sys.argv[1]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("203.0.113.10", 0))
s.settimeout(0.02)
start = time.monotonic()
with open(path, "r+") as f:  # in place: same inode, as FreePBX writes it
    f.truncate(0)
    f.write("[0.0.0.0-udp]\ntype=transport\nprotocol=udp\nbind=0.0.0.0:5160\n")
for i in range(150):  # 150 x 20 ms = 3 s
    s.sendto(b"move %d" % i, ("203.0.113.1", 5160))
    try:
        s.recvfrom(2048)
        print("%.3f" % (time.monotonic() - start))
        sys.exit(0)
    except socket.timeout:
        pass
print("timeout")
PY
)
echo "rewrite of pjsip.transports.conf to the first packet judged by the new ports: ${elapsed} s"
if [ "$elapsed" = timeout ]; then fail "5160 did not reach the PBX within 3 s of the rewrite"; else pass; fi
expect_eq "after: SIP on 5160 only" "p5060 dropped p5160 delivered " "$(probe_both)"
expect_contains "one-line diff in the log" "sip moved 5060/udp -> 5160/udp (asterisk: pjsip.transports.conf)" "$(cat "$log")"

# A broken file: the reload is refused with FILE:LINE:COL and nothing changes.
printf '[0.0.0.0-udp\ntype=transport\nbind=0.0.0.0:5060\n' >"$transports"
tb_wait_for 5 grep -qs "refused" "$log" || fail "no refused reload in the log"
expect_contains "the error names the file and line" "$transports:1:1: error:" "$(cat "$log")"
expect_eq "broken file: SIP stays on 5160" "p5060 dropped p5160 delivered " "$(probe_both)"

testbed_engine_stop TERM
expect_eq "engine exit status after SIGTERM" 0 "$TB_ENGINE_RC"
finish
