#!/usr/bin/env bash
# [blocklists] files on a real engine in the namespace testbed (NFQUEUE, kernel sets):
#  a. 100,000 prefixes (IPv6 /64s in 2001:db8::/32 and the IPv4 documentation /24s' subnets)
#     plus two malformed lines are written while a stream from an internet client flows: the
#     stream loses nothing and never stalls (the load runs off the packet path); the load
#     time is printed; the malformed lines are logged with FILE:LINE and the rest applies;
#     the kernel sets hold the entries, except those overlapping trusted or lan;
#  b. a change of one line (the streaming client's address added) drops it within 1 s,
#     measured from the rename to the last datagram delivered; no new policy generation;
#  c. listed trusted and lan sources still pass (lists never block them);
#  d. without the kernel set the engine drops a listed source itself (reason blocklist);
#  e. a list file that disappears keeps its entries; `pbxgate check` and `explain` show
#     FILE:LINE; the metrics name every file.
# Exit 0 pass, 1 fail, 77 skipped (not root). About 40 s.
source "$(dirname "$0")/lib.sh"
source "$PBXGATE_SOURCE_DIR/scripts/lib/testbed.sh"
testbed_require_root
command -v ipset >/dev/null || { echo "FAIL: ipset not installed (scripts/install-deps)" >&2; exit 1; }
trap testbed_cleanup EXIT
testbed_start "bl"
inet=${TB_NS[inet]}
traffic=$PBXGATE_SOURCE_DIR/tests/integration/blocklist_traffic.py
log=$TB_TMP/engine.log
policy=$TB_TMP/site.toml
lists=$TB_TMP/lists
big=$lists/big.txt
extra=$lists/extra.txt
mkdir -p "$lists"
cat >"$policy" <<TOML
extends = "$PBXGATE_SOURCE_DIR/tests/data/policies/testbed.toml"
[engine]
metrics = "127.0.0.1:9477"
[blocklists]
files = ["lists/big.txt", "lists/extra.txt"]
TOML
in_pbx() { ip netns exec "$TB_PBX" "$@"; }
scrape() { in_pbx python3 -c 'import urllib.request
print(urllib.request.urlopen("http://127.0.0.1:9477/metrics", timeout=5).read().decode(), end="")'; }
metric() { awk -v s="$2" '$1 == s { print $2 }' <<<"$1"; }
set_size() { in_pbx ipset list "$1" -output save | awk '$1 == "add"' | wc -l; }
in_set() { in_pbx ipset list "$1" -output save | awk -v m="$2" '$1 == "add" && $3 == m' | wc -l; }
# The 100,000-entry feed: comments, 36 IPv4 entries (the internet /24's subnets, and the lan
# and trusted nets, which must stay usable), 99,964 IPv6 /64s, and two malformed lines (3, 6).
# $1: an extra line replacing the first IPv6 entry (the one-line change).
write_big() {
  python3 - "$1" >"$big.tmp" <<'PY'
import sys
out = ["# a feed", "# generated", "not-an-address", "203.0.113.128/25", "203.0.113.64/27", "192.0.2.1/24 # host bits"]
out += ["198.51.100.0/24 # trusted: never blocked", "192.0.2.0/28   # lan: never blocked"]
out += ["203.0.113.%d" % i for i in range(32, 64)]
v6 = ["2001:db8:%x:%x::/64" % (0x1000 + i // 65536, i % 65536) for i in range(100000 - 36)]
if sys.argv[1]:
    v6[0] = sys.argv[1]
print("\r\n".join(out + v6))
PY
}
last_line_no() { grep -c '' "$big"; }

printf '# extra\n203.0.113.99\n' >"$extra"
printf '# empty at start\n' >"$big"
# (write_big writes $big.tmp; the test renames it, as a feed download should)
testbed_rules "$policy" --fail open || { echo "FAIL: pbxgate-rules apply" >&2; exit 1; }
testbed_engine_start "$log" --policy "$policy" --fail open --pid-file "$TB_TMP/pid" --state-dir "$TB_TMP/state"
tb_wait_for 5 scrape >/dev/null || fail "no metrics endpoint"
gen0=$(metric "$(scrape)" pbxgate_policy_generation)

# listen PORT SECONDS: starts the listener (background); sets LP and LOUT.
listen() {
  rm -f "$TB_TMP/ready"
  LOUT=$TB_TMP/listen-$RANDOM.json
  in_pbx python3 "$traffic" listen "$1" "$2" "$TB_TMP/ready" >"$LOUT" &
  LP=$!
  TB_PIDS+=("$LP")
  tb_wait_for 10 test -f "$TB_TMP/ready" || fail "listener did not start"
}
of() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])).get(sys.argv[2], {}); print(d.get(sys.argv[3], 0))' "$@"; }

# --- a ------------------------------------------------------------------------------------
listen 5060 7
ip netns exec "$inet" python3 "$traffic" stream 203.0.113.10 203.0.113.1 5060 5 1000 >"$TB_TMP/sent" &
sp=$!
TB_PIDS+=("$sp")
sleep 1
write_big ""
t0=$(date +%s.%N)
mv "$big.tmp" "$big"
tb_wait_for 20 grep -qs "blocklists (file change): 100001 entries" "$log" || fail "a: the 100,000 entries were not loaded"
t1=$(date +%s.%N)
wait "$sp" || true
wait "$LP" || true
sent=$(cat "$TB_TMP/sent")
got=$(of "$LOUT" 203.0.113.10 count)
gap=$(of "$LOUT" 203.0.113.10 max_gap_ms)
engine_ms=$(grep -o "blocklists (file change): 100001 entries from 2 file(s) in force after [0-9.]* ms" "$log" | tail -1 | awk '{print $(NF-1)}')
printf 'a: 100,000 prefixes: loaded by the engine in %s ms (read, parse, build, publish); rename -> log line %.0f ms\n' \
  "$engine_ms" "$(python3 -c "print(($t1 - $t0) * 1000)")"
echo "a: stream during the load: sent $sent, delivered $got, longest gap between datagrams ${gap} ms"
[ "$got" -ge $((sent * 99 / 100)) ] && pass || fail "a: only $got of $sent delivered during the load"
python3 -c "import sys; sys.exit(0 if float('$gap') < 250 else 1)" && pass || fail "a: the stream stalled ${gap} ms during the load"
expect_contains "a: malformed line 3 reported with FILE:LINE" "$big:3: " "$(cat "$log")"
expect_contains "a: host bits line 6 reported with FILE:LINE" "$big:6: " "$(cat "$log")"
m=$(scrape)
expect_eq "a: entries of big.txt (the rest applies)" 100000 "$(metric "$m" "pbxgate_blocklist_entries{file=\"$big\"}")"
expect_eq "a: entries of extra.txt" 1 "$(metric "$m" "pbxgate_blocklist_entries{file=\"$extra\"}")"
expect_eq "a: malformed lines of big.txt" 2 "$(metric "$m" "pbxgate_blocklist_malformed_lines{file=\"$big\"}")"
[ "$(metric "$m" pbxgate_blocklist_load_errors_total)" -ge 2 ] && pass || fail "a: load errors not counted"
[ -n "$(metric "$m" pbxgate_blocklist_last_load_timestamp_seconds)" ] && pass || fail "a: no last load timestamp"
tb_wait_for 20 eval '[ "$(set_size pbxgate-blocked6)" -ge 99964 ]' || true
expect_eq "a: pbxgate-blocked6 holds every IPv6 entry (+ the policy's)" 99965 "$(set_size pbxgate-blocked6)"
expect_eq "a: pbxgate-blocked4 holds 203.0.113.128/25" 1 "$(in_set pbxgate-blocked4 203.0.113.128/25)"
expect_eq "a: pbxgate-blocked4 holds 203.0.113.40" 1 "$(in_set pbxgate-blocked4 203.0.113.40)"
expect_eq "a: the trusted net stays out of the kernel set" 0 "$(in_set pbxgate-blocked4 198.51.100.0/24)"
expect_eq "a: the lan net stays out of the kernel set" 0 "$(in_set pbxgate-blocked4 192.0.2.0/28)"

# --- b ------------------------------------------------------------------------------------
listen 5060 5
ip netns exec "$inet" python3 "$traffic" stream 203.0.113.10 203.0.113.1 5060 3.5 500 >"$TB_TMP/sent" &
sp=$!
TB_PIDS+=("$sp")
sleep 1
python3 - "$big" <<'PY'
import sys
lines = open(sys.argv[1], newline="").read().split("\r\n")
i = lines.index("2001:db8:1000:0::/64") if "2001:db8:1000:0::/64" in lines else 40
lines[i] = "203.0.113.10"
open(sys.argv[1] + ".tmp", "w", newline="").write("\r\n".join(lines))
PY
tw=$(python3 -c 'import time; print(time.time())')
mv "$big.tmp" "$big"
wait "$sp" || true
wait "$LP" || true
last=$(of "$LOUT" 203.0.113.10 last)
got=$(of "$LOUT" 203.0.113.10 count)
ms=$(python3 -c "print(round(($last - $tw) * 1000))")
echo "b: one line changed: the listed client's last datagram arrived ${ms} ms after the rename ($got delivered in all)"
python3 -c "import sys; sys.exit(0 if $ms < 1000 else 1)" && pass || fail "b: change -> drop took ${ms} ms (1000 allowed)"
[ "$got" -gt 100 ] && pass || fail "b: the stream did not flow before the change ($got delivered)"
expect_eq "b: in place in pbxgate-blocked4" 1 "$(in_set pbxgate-blocked4 203.0.113.10)"
expect_contains "b: applied in place, no swap" "added, 1 removed in place" "$(cat "$log")"
expect_eq "b: a list change is no policy reload (same generation)" "$gen0" "$(metric "$(scrape)" pbxgate_policy_generation)"
grep -q "blocklists (file change): 100001 entries" "$log" && pass || fail "b: no list load logged"

# --- c ------------------------------------------------------------------------------------
listen 5060 5
ip netns exec "${TB_NS[trusted]}" python3 "$traffic" stream 198.51.100.10 198.51.100.1 5060 1 100 >/dev/null &
TB_PIDS+=($!)
ip netns exec "${TB_NS[lan]}" python3 "$traffic" stream 192.0.2.10 192.0.2.1 5060 1 100 >/dev/null
wait "$LP" || true
[ "$(of "$LOUT" 198.51.100.10 count)" -ge 95 ] && pass || fail "c: a listed trusted source was blocked"
[ "$(of "$LOUT" 192.0.2.10 count)" -ge 95 ] && pass || fail "c: a listed lan source was blocked"

# --- d ------------------------------------------------------------------------------------
in_pbx ipset flush pbxgate-blocked4
before=$(metric "$(scrape)" 'pbxgate_decisions_total{reason="blocklist"}')
listen 5060 3
ip netns exec "$inet" python3 "$traffic" stream 203.0.113.10 203.0.113.1 5060 1 100 >/dev/null
wait "$LP" || true
after=$(metric "$(scrape)" 'pbxgate_decisions_total{reason="blocklist"}')
echo "d: without the kernel set: delivered $(of "$LOUT" 203.0.113.10 count), decisions{reason=blocklist} $before -> $after"
expect_eq "d: the engine drops the listed source itself" 0 "$(of "$LOUT" 203.0.113.10 count)"
[ $((after - before)) -ge 95 ] && pass || fail "d: only $((after - before)) drops of reason blocklist"

# --- e ------------------------------------------------------------------------------------
rm -f "$extra"
tb_wait_for 3 grep -qs "$extra: cannot read the blocklist" "$log" || fail "e: the missing file was not reported"
expect_eq "e: the missing file keeps its entry" 1 "$(metric "$(scrape)" "pbxgate_blocklist_entries{file=\"$extra\"}")"
expect_eq "e: readable gauge" 0 "$(metric "$(scrape)" "pbxgate_blocklist_readable{file=\"$extra\"}")"
out=$("$PBXGATE" check "$policy" 2>&1) && pass || fail "e: check failed on list warnings: $out"
expect_contains "e: check reports FILE:LINE" "$big:3: warning:" "$out"
expect_contains "e: check counts the entries" "blocklist $big: 100000 entries" "$out"
out=$("$PBXGATE" explain --policy "$policy" --proto udp --src 203.0.113.10 --dport 5060 2>/dev/null)
expect_contains "e: explain: blocklist reason" "reason:   blocklist" "$out"
expect_contains "e: explain: the listing line" "listed:   $big:" "$out"
out=$("$PBXGATE" explain --policy "$policy" --proto udp --src 198.51.100.10 --dport 5060 2>/dev/null)
expect_contains "e: explain: trusted wins" "not applied" "$out"

testbed_engine_stop TERM
expect_eq "engine exit status" 0 "$TB_ENGINE_RC"
finish
