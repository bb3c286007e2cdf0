// The iptables backend: iptables-restore text, one per family, for `--noflush` so that
// only pbxgate's own chain is (re)written and every other rule stays as it is.
#include <string>

#include "pbxgate/rules.hpp"
#include "kernelset/prefilter_sets.hpp"
#include "rules/rule_plan.hpp"

namespace pbxgate {

namespace {

using rules_detail::hex_mark;
using rules_detail::rule_plan;

std::string nfqueue_target(const rule_plan& plan, bool always_bypass = false) {
    std::string t = "-j NFQUEUE";
    if (plan.queues.single()) {
        t += " --queue-num " + std::to_string(plan.queues.first);
    } else {
        t += " --queue-balance " + std::to_string(plan.queues.first) + ":" + std::to_string(plan.queues.last);
    }
    if (plan.fail == fail_mode::open || always_bypass) t += " --queue-bypass";
    if (plan.cpu_fanout) t += " --queue-cpu-fanout";
    return t;
}

// Flow offload (src/offload/offload_marks.hpp): ahead of everything else, so that a packet
// the engine repeated with our mark has it saved to its connection and is accepted at
// once, and every later packet of an offloaded connection skips the queue. Only the bits
// of the mask are read or written: the administrator's other mark bits are left alone.
std::string offload_rules(const rule_plan& plan, const std::string& add) {
    if (!plan.offload) return {};
    const offload_marks& m = *plan.offload;
    const std::string mask = hex_mark(m.mask);
    std::string out =
        "# Flow offload: the engine marks a flow it judged (NF_REPEAT with a packet mark in\n"
        "# " + mask + "); the mark is saved to the connection, whose packets then skip the queue.\n"
        "# Only bits of engine.mark_mask are touched; other mark bits stay the admin's.\n";
    const auto pair = [&](std::uint32_t value, const char* target) {
        const std::string match = hex_mark(value) + "/" + mask;
        out += add + "-m mark --mark " + match + " -j CONNMARK --save-mark --nfmask " + mask + " --ctmask " + mask +
               "\n";
        out += add + "-m connmark --mark " + match + " -j " + target + "\n";
    };
    pair(m.accept_value, "ACCEPT");
    return out;
}

// Before everything else, offloaded flows included: a source blocked or banned after its
// flow was offloaded is cut at once. Router placement: only traffic to the protected
// addresses, as the queue rules; anything else is not ours to drop.
std::string prefilter_rules(const rule_plan& plan, ip_family fam, const std::string& add) {
    std::vector<std::string> targets;
    if (plan.place == placement::host) targets.emplace_back();
    else
        for (const auto& p : plan.protected_of(fam)) targets.push_back("-d " + to_string(p) + " ");
    if (targets.empty()) return {};
    std::string out = rules_detail::prefilter_comment();
    for (const std::string_view set : {kernelset::blocked_set(fam), kernelset::ban_set(fam)})
        for (const std::string& to : targets)
            out += add + to + "-m set --match-set " + std::string(set) + " src -j DROP\n";
    return out;
}

std::string port_text(const port_range& r) {
    return r.first == r.last ? std::to_string(r.first) : std::to_string(r.first) + ":" + std::to_string(r.last);
}

// SIP responses leaving the PBX (replies on connections its peers opened), queued so the
// engine learns authentication outcomes; always with --queue-bypass, since the engine only
// observes them and a stopped engine must not silence the PBX. `match` selects the PBX
// (empty on a host, "-s PREFIX " on a router).
std::string sip_response_rules(const rule_plan& plan, const std::string& add, const std::string& match) {
    std::string out;
    for (const auto& [proto, r] : plan.sip_response_ports)
        out += add + match + "-p " + proto + " --sport " + port_text(r) +
               (plan.sip_media ? " " : " -m conntrack --ctdir REPLY ") + nfqueue_target(plan, true) + "\n";
    return out;
}

// Negotiated media: the peers' SIP answering connections the PBX opened (a trunk's 200 OK
// to the PBX's INVITE) carries SDP too; queued (bypass) before replies are accepted.
// `match` selects the PBX (empty on a host, "-d PREFIX " on a router).
std::string sip_reply_rules(const rule_plan& plan, const std::string& add, const std::string& match) {
    if (!plan.sip_media) return {};
    std::string out = "# Answers to SIP the PBX sent first (a trunk's 200 OK and its SDP): judged like any SIP,\n"
                      "# for the media pinholes (bypass whatever the fail mode).\n";
    for (const auto& [proto, r] : plan.sip_response_ports)
        out += add + match + "-p " + proto + " --dport " + port_text(r) + " -m conntrack --ctdir REPLY " +
               nfqueue_target(plan, true) + "\n";
    return out;
}

std::string chain_body(const rule_plan& plan, ip_family fam, const std::string& chain) {
    const std::string add = "-A " + chain + " ";
    const std::string queue = nfqueue_target(plan);
    std::string out = prefilter_rules(plan, fam, add);
    out += offload_rules(plan, add);
    if (plan.place == placement::host) {
        out += sip_reply_rules(plan, add, "");
        out += "# Replies to connections this host opened (DNS answers, HTTPS, SIP registrations)\n"
               "# are accepted before the queue: the engine cannot see conntrack state.\n";
        out += add + "-m conntrack --ctdir REPLY -j ACCEPT\n";
        out += "# Everything else is judged by the engine, loopback included (the engine gives\n"
               "# packets from the loopback interface the localhost zone).\n";
        out += add + queue + "\n";
        return out;
    }
    const auto& guarded = plan.protected_of(fam);
    if (guarded.empty()) {
        out += std::string("# No ") + (fam == ip_family::v4 ? "IPv4" : "IPv6") +
               " protected address in the policy: this chain queues nothing.\n";
        return out;
    }
    if (!plan.sip_response_ports.empty()) {
        out += "# SIP responses of the protected PBX, queued for SIP protection (observed, always\n"
               "# accepted; bypass whatever the fail mode).\n";
        for (const auto& p : guarded) out += sip_response_rules(plan, add, "-s " + to_string(p) + " ");
    }
    for (const auto& p : guarded) out += sip_reply_rules(plan, add, "-d " + to_string(p) + " ");
    out += "# Replies to connections the protected hosts opened are accepted before the queue:\n"
           "# the engine cannot see conntrack state.\n";
    for (const auto& p : guarded) out += add + "-d " + to_string(p) + " -m conntrack --ctdir REPLY -j ACCEPT\n";
    out += "# Traffic to the protected addresses (as FORWARD sees them, after DNAT) is judged by\n"
           "# the engine; anything else returns to FORWARD untouched.\n";
    for (const auto& p : guarded) out += add + "-d " + to_string(p) + " " + queue + "\n";
    return out;
}

}  // namespace

rules_output iptables_restore_text(const policy& pol, const rules_options& opt, ip_family fam) {
    std::string error;
    const auto plan = rules_detail::make_plan(pol, opt, error);
    if (!plan) return {{}, error};
    const std::string chain(our_chain(plan->place));
    const bool v4 = fam == ip_family::v4;
    std::string out = rules_detail::header_comment(
        *plan, v4 ? "IPv4, for iptables-restore --noflush" : "IPv6, for ip6tables-restore --noflush");
    out += "# The jump is not part of this text, so re-applying it never adds a second copy;\n"
           "# scripts/pbxgate-rules adds it only when absent: -I " +
           std::string(hook_chain(plan->place)) + " 1 -j " + chain + "\n";
    out += rules_detail::queue_spreading_comment(*plan);
    out += "*filter\n";
    out += ":" + chain + " - [0:0]\n";
    const bool sip_output = plan->place == placement::host && !plan->sip_response_ports.empty();
    if (sip_output) out += ":" + std::string(sip_output_chain) + " - [0:0]\n";
    out += "-F " + chain + "\n";
    out += chain_body(*plan, fam, chain);
    if (sip_output) {
        // A second chain, jumped to from OUTPUT (scripts/pbxgate-rules adds the jump).
        out += "# SIP responses leaving this PBX, queued for SIP protection: observed, always\n"
               "# accepted, with --queue-bypass whatever the fail mode. Jump: -I OUTPUT 1 -j " +
               std::string(sip_output_chain) + "\n";
        out += "-F " + std::string(sip_output_chain) + "\n";
        out += sip_response_rules(*plan, "-A " + std::string(sip_output_chain) + " ", "");
    }
    out += "COMMIT\n";
    return {out, {}};
}

}  // namespace pbxgate
