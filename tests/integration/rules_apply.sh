#!/usr/bin/env bash
# scripts/pbxgate-rules against real iptables/ip6tables, in a fresh network namespace this
# test creates and always deletes: apply is idempotent (one chain, one jump, at position 1),
# remove takes away exactly what apply added (an administrator's rule stays), and removing
# twice succeeds. The host's own firewall is never touched: every firewall command runs
# inside the namespace.
#
# Environment (ctest sets the first two): PBXGATE = the pbxgate binary, PBXGATE_SOURCE_DIR =
# the repository; PBXGATE_RULES_POLICY = the policy to use (default: the shipped
# policies/freepbx.toml; placement, fail and queues are given on the command line, so the
# policy's own [engine] values do not matter). Exit 0 passed, 1 failed, 77 skipped (not
# root, outside CI). In CI (CI=true) missing privileges are a failure, not a skip.
set -euo pipefail

src=${PBXGATE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
script=$src/scripts/pbxgate-rules
policy=${PBXGATE_RULES_POLICY:-$src/policies/freepbx.toml}
in_ci=false
[[ ${CI:-} == true ]] && in_ci=true

fail() {
    echo "FAIL: $*" >&2
    exit 1
}
skip_or_fail() {
    if $in_ci; then fail "$* (CI=true: this test must run)"; fi
    echo "SKIP: $*" >&2
    exit 77
}

[[ $EUID -eq 0 ]] || skip_or_fail "needs root to create a network namespace"
for tool in ip iptables ip6tables iptables-restore ip6tables-restore; do
    command -v "$tool" >/dev/null 2>&1 || skip_or_fail "$tool not installed"
done
[[ -n ${PBXGATE:-} && -x $PBXGATE ]] || fail "PBXGATE must name the pbxgate binary (got '${PBXGATE:-}')"
[[ -f $policy ]] || fail "policy file $policy not found (set PBXGATE_RULES_POLICY)"
[[ -x $script ]] || fail "$script is missing or not executable"

ns=pbxgate-rules-test-$$
cleanup() { ip netns delete "$ns" 2>/dev/null || true; }
trap cleanup EXIT
ip netns add "$ns" || skip_or_fail "cannot create network namespace $ns"

in_ns() { ip netns exec "$ns" "$@"; }
rules() { in_ns env PBXGATE="$PBXGATE" bash "$script" "$@"; }
apply_args=(--policy "$policy" --placement host --queues 0-1 --fail open)

# What `iptables -S` must show, per tool: the admin rule stays, our chain appears once.
admin_rule() { [[ $1 == iptables ]] && echo "-A INPUT -s 203.0.113.9/32 -j ACCEPT" || echo "-A INPUT -s 2001:db8:ffff::9/128 -j ACCEPT"; }

count_lines() {  # count_lines TEXT LINE: exact matching lines
    grep -cxF -e "$2" <<<"$1" || true
}

check_installed() {
    local when=$1 ipt listing input_rules
    for ipt in iptables ip6tables; do
        listing=$(in_ns "$ipt" -S)
        [[ $(count_lines "$listing" "-N PBXGATE-INPUT") == 1 ]] || fail "$when: $ipt has no PBXGATE-INPUT chain:"$'\n'"$listing"
        [[ $(count_lines "$listing" "-A INPUT -j PBXGATE-INPUT") == 1 ]] ||
            fail "$when: $ipt should have exactly one jump to PBXGATE-INPUT:"$'\n'"$listing"
        input_rules=$(grep -e '^-A INPUT ' <<<"$listing")
        [[ $(head -n1 <<<"$input_rules") == "-A INPUT -j PBXGATE-INPUT" ]] ||
            fail "$when: $ipt: the jump is not the first INPUT rule:"$'\n'"$listing"
        [[ $(count_lines "$listing" "$(admin_rule "$ipt")") == 1 ]] || fail "$when: $ipt lost the admin rule:"$'\n'"$listing"
        # The chain's own rules, in order: the kernel pre-filter (blocked zone and bans
        # dropped by their ipset sets), flow offload (rtp and udptl offload by default:
        # save our mark bits to the connection, accept marked connections), replies
        # accepted, then everything queued.
        local fam=4
        [[ $ipt == ip6tables ]] && fam=6
        local expected="-A PBXGATE-INPUT -m set --match-set pbxgate-blocked$fam src -j DROP
-A PBXGATE-INPUT -m set --match-set pbxgate-ban$fam src -j DROP
-A PBXGATE-INPUT -m mark --mark 0x100000/0xf00000 -j CONNMARK --save-mark --nfmask 0xf00000 --ctmask 0xf00000
-A PBXGATE-INPUT -m connmark --mark 0x100000/0xf00000 -j ACCEPT
-A PBXGATE-INPUT -p udp -m udp --dport 5060 -m conntrack --ctdir REPLY -j NFQUEUE --queue-balance 0:1 --queue-bypass
-A PBXGATE-INPUT -m conntrack --ctdir REPLY -j ACCEPT
-A PBXGATE-INPUT -j NFQUEUE --queue-balance 0:1 --queue-bypass"
        [[ $(grep -e '^-A PBXGATE-INPUT ' <<<"$listing") == "$expected" ]] ||
            fail "$when: $ipt: PBXGATE-INPUT should hold exactly:"$'\n'"$expected"$'\n'"got:"$'\n'"$listing"
    done
}

check_removed() {
    local when=$1 ipt listing
    for ipt in iptables ip6tables; do
        listing=$(in_ns "$ipt" -S)
        ! grep -q PBXGATE <<<"$listing" || fail "$when: $ipt still has pbxgate rules:"$'\n'"$listing"
        ! in_ns ipset list -n | grep -q pbxgate || fail "$when: pbxgate ipset sets left behind"
        [[ $(count_lines "$listing" "$(admin_rule "$ipt")") == 1 ]] || fail "$when: $ipt lost the admin rule:"$'\n'"$listing"
    done
}

# An administrator's rule that must survive everything below.
in_ns iptables -A INPUT -s 203.0.113.9/32 -j ACCEPT
in_ns ip6tables -A INPUT -s 2001:db8:ffff::9/128 -j ACCEPT

status=0
rules status >/dev/null || status=$?
[[ $status == 3 ]] || fail "status before apply should exit 3 (not installed), got $status"

rules apply "${apply_args[@]}" || fail "first apply failed"
check_installed "after the first apply"
rules status >/dev/null || fail "status after apply should exit 0"

rules apply "${apply_args[@]}" || fail "second apply failed"
check_installed "after the second apply"

rules remove || fail "remove failed"
check_removed "after remove"

rules remove || fail "remove with nothing installed should succeed"
check_removed "after the second remove"

# Bad options change nothing and exit 2.
for bad in "--placement sideways" "--queue 0 --cpu-fanout" "--queues 3-1"; do
    status=0
    # shellcheck disable=SC2086 # each row is several words on purpose
    rules apply --policy "$policy" --fail open $bad 2>/dev/null || status=$?
    [[ $status == 2 ]] || fail "apply $bad should exit 2, got $status"
    check_removed "after the refused apply $bad"
done

echo "PASS: rules_apply"
