// Steering rules: the kernel rules that send traffic to pbxgate's queue(s), generated from
// the policy. Everything lives in pbxgate's own chains (iptables) or its own table (nft),
// so installing and removing them never touches an administrator's rules.
//
// Why conntrack is in the rules: the engine cannot see conntrack state (no
// NETLINK_GLUE_CT on the target kernels), so replies to connections the guarded host
// opened itself (DNS answers, HTTPS replies, outbound SIP registrations) are accepted
// before the queue; otherwise they would meet "no service" in the engine and die.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "pbxgate/address.hpp"
#include "pbxgate/policy.hpp"

namespace pbxgate {

enum class rules_backend : std::uint8_t { iptables, nft };
enum class rules_family : std::uint8_t { ipv4, ipv6, both };

// NFQUEUE numbers first..last, inclusive.
struct queue_range {
    std::uint16_t first = 0;
    std::uint16_t last = 0;
    bool single() const noexcept { return first == last; }
    friend bool operator==(const queue_range&, const queue_range&) = default;
};

// "3" or "0-3". On failure returns nullopt and, when `error` is given, says why.
std::optional<queue_range> parse_queue_range(std::string_view text, std::string* error = nullptr);

struct rules_options {
    std::optional<placement> place;  // nullopt: the policy's engine.place
    queue_range queues;              // 0-0
    std::optional<fail_mode> fail;   // nullopt: the policy's engine.fail
    rules_backend backend = rules_backend::iptables;
    // Several queues: pick the queue by the CPU that received the packet instead of by
    // an address hash. See the comment on the generated rules for when each fits.
    bool cpu_fanout = false;
    rules_family family = rules_family::both;
};

// pbxgate's own iptables chains and the built-in chain each is jumped from. The jump is
// never part of the generated text (re-applying a restore text with the jump would add a
// second copy); scripts/pbxgate-rules adds it only when absent.
inline constexpr std::string_view input_chain = "PBXGATE-INPUT";
inline constexpr std::string_view forward_chain = "PBXGATE-FORWARD";
std::string_view our_chain(placement p) noexcept;     // PBXGATE-INPUT or PBXGATE-FORWARD
std::string_view hook_chain(placement p) noexcept;    // INPUT or FORWARD
// Host placement with SIP protection: the chain in OUTPUT that queues the PBX's SIP responses.
inline constexpr std::string_view sip_output_chain = "PBXGATE-OUTPUT";
// The nft table: `table inet pbxgate` (or ip / ip6 for a single family).
inline constexpr std::string_view nft_table_name = "pbxgate";

struct rules_output {
    std::string text;   // iptables-restore input or an `nft -f` script; empty on error
    std::string error;  // why nothing was generated (a combination that cannot work)
    bool ok() const noexcept { return error.empty(); }
};

// iptables backend: one iptables-restore text per family (IPv4 for iptables-restore, IPv6
// for ip6tables-restore), meant for `--noflush`. With family both, the two texts follow
// each other, each introduced by a comment line, and must be fed to their own tool.
// nft backend: one script for `nft -f` that replaces pbxgate's table atomically.
rules_output generate_rules(const policy& pol, const rules_options& opt);

// One family of the iptables backend (what generate_rules concatenates).
rules_output iptables_restore_text(const policy& pol, const rules_options& opt, ip_family fam);

// The kernel pre-filter sets the iptables rules match (pbxgate-blocked4/6 with the policy's
// blocked zone, pbxgate-ban4/6 empty), as input for `ipset -exist restore`. Applied before
// the iptables text, which cannot be restored while a set it names is missing.
std::string ipset_restore_text(const policy& pol, rules_family family);

// The nft backend (what generate_rules returns for it); opt.family picks the table:
// inet for both, ip or ip6 for one.
rules_output nft_script(const policy& pol, const rules_options& opt);

}  // namespace pbxgate
