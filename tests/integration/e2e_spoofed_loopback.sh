#!/usr/bin/env bash
# The localhost zone comes from the loopback interface on the queue path, not from a
# loopback source address: a TCP SYN to the localhost-only admin-http port (80) with a
# forged 127.0.0.1 source, arriving from the internet, is judged from the internet zone and
# dropped. The PBX is set to accept such packets at all (route_localnet, accept_local,
# no rp_filter); otherwise the kernel discards them as martians before netfilter, which is
# the normal defence this check does not rely on. A real connection over lo stays localhost.
source "$(dirname "$0")/lib.sh"
source "$PBXGATE_SOURCE_DIR/scripts/lib/testbed.sh"
testbed_require_root
trap testbed_cleanup EXIT
testbed_start spoofl
policy=$PBXGATE_SOURCE_DIR/tests/data/policies/testbed.toml
log=$TB_TMP/engine.log
stats=$TB_TMP/stats.json
inet=${TB_NS[inet]}

ip netns exec "$TB_PBX" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.inet0.rp_filter=0 \
  net.ipv4.conf.inet0.route_localnet=1 net.ipv4.conf.inet0.accept_local=1
testbed_serve 80 5060
testbed_rules "$policy" --fail closed || { echo "FAIL: pbxgate-rules apply" >&2; exit 1; }
testbed_engine_start "$log" --policy "$policy" --fail closed --stats-file "$stats"

# Three forged SYNs written on the internet client's wire (AF_PACKET: its own stack would
# refuse to send a loopback source out of eth0).
pbx_mac=$(ip -n "$TB_PBX" -j link show inet0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')
ip netns exec "$inet" python3 - "$pbx_mac" <<'PY' || fail "could not send the forged SYNs"
import socket, struct, sys

def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF

src, dst = socket.inet_aton("127.0.0.1"), socket.inet_aton("203.0.113.1")
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
own_mac = s.getsockname()[4]
for i in range(3):
    tcp = struct.pack("!HHIIBBHHH", 41000 + i, 80, 1, 0, 5 << 4, 0x02, 64240, 0, 0)
    tcp = tcp[:16] + struct.pack("!H", csum(src + dst + struct.pack("!BBH", 0, 6, len(tcp)) + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1 + i, 0x4000, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    s.send(bytes.fromhex(sys.argv[1].replace(":", "")) + own_mac + b"\x08\x00" + ip + tcp)
PY
# A real local connection: over lo, the localhost zone.
ip netns exec "$TB_PBX" python3 -c 'import socket; s = socket.create_connection(("127.0.0.1", 80), timeout=3); s.close()' ||
  fail "a local connection to 127.0.0.1:80 was refused"

tb_wait_for 5 grep -qs "127.0.0.1:4100[0-2] -> 203.0.113.1:80 zone internet service admin-http: drop" "$log" && pass ||
  fail "no drop from the internet zone logged for the forged 127.0.0.1 source"
testbed_engine_stats "$stats"
from_internet=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["by_service"].get("admin-http", {}).get("internet", {}).get("drop", 0))' "$stats")
from_lo=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["by_service"].get("admin-http", {}).get("localhost", {}).get("accept", 0))' "$stats")
echo "admin-http: internet drops $from_internet, localhost accepts $from_lo"
[ "$from_internet" -ge 3 ] && pass || fail "forged SYNs judged from the internet zone: $from_internet, want >= 3"
[ "$from_lo" -ge 1 ] && pass || fail "the real local connection was not judged localhost"
testbed_engine_stop TERM
expect_eq "engine exit status" 0 "$TB_ENGINE_RC"
finish
