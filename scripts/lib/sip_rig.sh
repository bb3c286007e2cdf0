# shellcheck shell=bash
# The SIP rig shared by scripts/demo and tests/integration/sip_protect_e2e.sh: Kamailio as
# the PBX's registrar (tests/integration/sip/kamailio.cfg: digest auth, 401/403/404/200) in
# the testbed's PBX namespace, a capture on the internet side, and counts per source.
# Source it after scripts/lib/testbed.sh, call the helpers after testbed_start: what they
# start goes into TB_PIDS, so testbed_cleanup ends it.

SIP_RIG_DIR=$TB_SRC/tests/integration/sip
SIP_PBX_ADDR=203.0.113.1
SIP_KAM_LOG=""
SIP_PCAP=""

# sip_registrar_start [TRUNK_IP]: checks the config, runs Kamailio in the PBX namespace
# (foreground -DD, logs on stderr -E, as nobody: port 5060 needs no privilege) and waits
# (10 s) until it listens on udp/5060. TRUNK_IP: the address whose INVITEs it takes without
# authentication. Returns 1, its log on stderr, when it does not start.
sip_registrar_start() {
  local trunk=${1:-203.0.113.40} run=$TB_TMP/kamailio  # "" or absent: the default
  SIP_KAM_LOG=$TB_TMP/kamailio.log
  mkdir -p "$run"
  chown nobody:nogroup "$run"
  chmod 0755 "$TB_TMP"
  if ! kamailio -c -f "$SIP_RIG_DIR/kamailio.cfg" >"$TB_TMP/kamailio-check.log" 2>&1; then
    cat "$TB_TMP/kamailio-check.log" >&2
    echo "sip rig: kamailio -c rejects $SIP_RIG_DIR/kamailio.cfg" >&2
    return 1
  fi
  ip netns exec "$TB_PBX" kamailio -DD -E -f "$SIP_RIG_DIR/kamailio.cfg" -Y "$run" -u nobody -g nogroup \
    -A "TRUNK_IP=\"$trunk\"" >"$SIP_KAM_LOG" 2>&1 &
  TB_PIDS+=($!)
  if ! tb_wait_for 10 sip_registrar_listens; then
    cat "$SIP_KAM_LOG" >&2
    echo "sip rig: kamailio did not start" >&2
    return 1
  fi
}
sip_registrar_listens() { ip netns exec "$TB_PBX" ss -lun 2>/dev/null | grep -q '0.0.0.0:5060'; }

# sip_capture_start: tcpdump of udp/5060 on the internet client's side of the PBX (what
# each actor sent and got back), to $TB_TMP/inet.pcap.
sip_capture_start() {
  SIP_PCAP=$TB_TMP/inet.pcap
  ip netns exec "${TB_NS[inet]}" tcpdump -i eth0 -n -U -w "$SIP_PCAP" "udp port 5060" >/dev/null 2>&1 &
  TB_PIDS+=($!)
  tb_wait_for 5 test -s "$SIP_PCAP" || true  # the file header is written once it captures
  sleep 0.3
}

# Counts per source address ADDR. sent: datagrams it sent to 5060 (retransmissions
# included); got: datagrams the PBX sent it; reached: requests the registrar logged;
# answered [CODE]: replies the registrar sent it (of that status code).
sip_sent_by() { ip netns exec "${TB_NS[inet]}" tcpdump -r "$SIP_PCAP" -n "src host $1 and dst port 5060" 2>/dev/null | wc -l; }
sip_got_by() { ip netns exec "${TB_NS[inet]}" tcpdump -r "$SIP_PCAP" -n "src host $SIP_PBX_ADDR and dst host $1" 2>/dev/null | wc -l; }
sip_reached() { grep -c "RIG-REQ src=$1 " "$SIP_KAM_LOG" || true; }
sip_answered() { grep -c "RIG-REPLY dst=$1 code=${2:-}" "$SIP_KAM_LOG" || true; }

# sip_ban_reason BANS_JSON ADDR: the reason of ADDR's ban in `pbxgate bans list --json`
# output, or "-" when it is not banned.
sip_ban_reason() {
  [ -n "$1" ] || { echo "-"; return; }
  python3 -c 'import json, sys
try: rows = json.loads(sys.argv[1])
except Exception: rows = []
print(next((r["reason"] for r in rows if r["source"].split("/")[0] == sys.argv[2]), "-"))' "$1" "$2"
}
