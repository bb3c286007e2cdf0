// The nft backend: one `nft -f` script with pbxgate's own table, for kernels that have
// the nft `queue` statement (CONFIG_NFT_QUEUE). A base chain hooks by itself, so no jump
// from anyone else's chain is needed.
#include <string>

#include "pbxgate/rules.hpp"
#include "rules/rule_plan.hpp"

namespace pbxgate {

namespace {

using rules_detail::rule_plan;

std::string queue_statement(const rule_plan& plan, bool always_bypass = false) {
    std::string s = "queue num " + std::to_string(plan.queues.first);
    if (!plan.queues.single()) s += "-" + std::to_string(plan.queues.last);
    std::string flags;
    if (plan.cpu_fanout) flags = "fanout";
    if (plan.fail == fail_mode::open || always_bypass) flags += flags.empty() ? "bypass" : ",bypass";
    if (!flags.empty()) s += " " + flags;
    return s;
}

std::string address_set(const std::vector<ip_prefix>& prefixes) {
    std::string s = "{ ";
    for (std::size_t i = 0; i < prefixes.size(); ++i) {
        if (i) s += ", ";
        s += to_string(prefixes[i]);
    }
    return s + " }";
}

const char* table_family(rules_family f) noexcept {
    switch (f) {
        case rules_family::ipv4: return "ip";
        case rules_family::ipv6: return "ip6";
        case rules_family::both: break;
    }
    return "inet";
}

// SIP responses leaving the PBX: queued for SIP protection, observed and always accepted,
// with bypass whatever the fail mode. `match` selects the PBX on a router ("ip saddr {..} ").
std::string sip_response_rules(const rule_plan& plan, const std::string& match) {
    std::string out;
    for (const auto& [proto, r] : plan.sip_response_ports) {
        const std::string ports = r.first == r.last ? std::to_string(r.first)
                                                    : std::to_string(r.first) + "-" + std::to_string(r.last);
        out += "\t\t" + match + (plan.sip_media ? "" : "ct direction reply ") + proto + " sport " + ports + " " +
               queue_statement(plan, true) + "\n";
    }
    return out;
}

// Negotiated media: the peers' answers on connections the PBX opened (a trunk's 200 OK and
// its SDP), queued (bypass) before replies are accepted. `match`: "ip daddr {..} " on a router.
std::string sip_reply_rules(const rule_plan& plan, const std::string& match) {
    if (!plan.sip_media) return {};
    std::string out = "\t\t# Answers to SIP the PBX sent first (a trunk's 200 OK and its SDP): judged for the\n"
                      "\t\t# media pinholes (bypass whatever the fail mode).\n";
    for (const auto& [proto, r] : plan.sip_response_ports) {
        const std::string ports = r.first == r.last ? std::to_string(r.first)
                                                    : std::to_string(r.first) + "-" + std::to_string(r.last);
        out += "\t\t" + match + "ct direction reply " + proto + " dport " + ports + " " + queue_statement(plan, true) +
               "\n";
    }
    return out;
}

std::string router_rules(const rule_plan& plan, rules_family family) {
    struct selector { ip_family fam; const char* match; };
    std::vector<selector> selectors;
    if (family != rules_family::ipv6) selectors.push_back({ip_family::v4, "ip daddr "});
    if (family != rules_family::ipv4) selectors.push_back({ip_family::v6, "ip6 daddr "});
    std::string accept, queue;
    for (const auto& sel : selectors) {
        const auto& guarded = plan.protected_of(sel.fam);
        if (guarded.empty()) continue;
        std::string saddr(sel.match);
        saddr.replace(saddr.find("daddr"), 5, "saddr");
        if (!plan.sip_response_ports.empty()) {
            accept += "\t\t# SIP responses of the protected PBX: queued for SIP protection (observed).\n";
            accept += sip_response_rules(plan, saddr + address_set(guarded) + " ");
        }
        accept += sip_reply_rules(plan, std::string(sel.match) + address_set(guarded) + " ");
        accept += "\t\t" + std::string(sel.match) + address_set(guarded) + " ct direction reply accept\n";
        queue += "\t\t" + std::string(sel.match) + address_set(guarded) + " " + queue_statement(plan) + "\n";
    }
    if (queue.empty()) return "\t\t# No protected address of this family in the policy: nothing is queued.\n";
    return "\t\t# Replies to connections the protected hosts opened: before the queue (the engine\n"
           "\t\t# cannot see conntrack state).\n" +
           accept +
           "\t\t# Traffic to the protected addresses (after DNAT) is judged by the engine; anything\n"
           "\t\t# else passes this chain untouched.\n" +
           queue;
}

// Flow offload, as in the iptables backend: save our mark bits from the packet to the
// connection, then let marked connections skip the queue. Only the mask's bits are touched.
std::string offload_rules(const rule_plan& plan) {
    if (!plan.offload) return {};
    const offload_marks& m = *plan.offload;
    const std::string mask = rules_detail::hex_mark(m.mask);
    const std::string keep = rules_detail::hex_mark(~m.mask);
    std::string out = "\t\t# Flow offload: a flow the engine judged carries our mark (bits " + mask +
                      "); saved to the\n\t\t# connection, whose packets then skip the queue.\n";
    const auto pair = [&](std::uint32_t value, const char* verdict_word) {
        const std::string v = rules_detail::hex_mark(value);
        out += "\t\tmeta mark and " + mask + " == " + v + " ct mark set ct mark and " + keep + " or " + v + "\n";
        out += "\t\tct mark and " + mask + " == " + v + " " + verdict_word + "\n";
    };
    pair(m.accept_value, "accept");
    return out;
}

// The blocked zone as nft sets, dropped before the queue (and before offloaded flows). The
// engine keeps only the ipset sets of the iptables backend in step with reloads; with nft
// the set changes when `pbxgate-rules apply` runs again.
struct nft_family_sel {
    ip_family fam;
    const char* type;   // set element type
    const char* saddr;  // match on the source
    const char* daddr;
    const char* name;
};

std::vector<nft_family_sel> families_of(rules_family family) {
    std::vector<nft_family_sel> out;
    if (family != rules_family::ipv6) out.push_back({ip_family::v4, "ipv4_addr", "ip saddr", "ip daddr ", "blocked4"});
    if (family != rules_family::ipv4) out.push_back({ip_family::v6, "ipv6_addr", "ip6 saddr", "ip6 daddr ", "blocked6"});
    return out;
}

std::string blocked_set_decls(const policy& pol, rules_family family) {
    std::string out;
    for (const auto& sel : families_of(family)) {
        std::vector<ip_prefix> members;
        for (const ip_prefix& p : pol.zones.blocked)
            if (p.address.family == sel.fam) members.push_back(p);
        out += "\tset " + std::string(sel.name) + " {\n\t\ttype " + sel.type + "\n\t\tflags interval\n\t\tauto-merge\n";
        // Monitor mode drops nothing: the set stays empty and the engine logs would-drops.
        if (!members.empty() && pol.engine.mode != engine_mode::monitor)
            out += "\t\telements = " + address_set(members) + "\n";
        out += "\t}\n";
    }
    return out;
}

std::string blocked_rules(const rule_plan& plan, rules_family family) {
    std::string out = "\t\t# Kernel pre-filter: sources in the blocked zone are dropped before the queue.\n";
    for (const auto& sel : families_of(family)) {
        const std::string drop = std::string(sel.saddr) + " @" + sel.name + " counter drop\n";
        if (plan.place == placement::host) {
            out += "\t\t" + drop;
        } else if (const auto& guarded = plan.protected_of(sel.fam); !guarded.empty()) {
            out += "\t\t" + std::string(sel.daddr) + address_set(guarded) + " " + drop;
        }
    }
    return out;
}

}  // namespace

rules_output nft_script(const policy& pol, const rules_options& opt) {
    std::string error;
    const auto plan = rules_detail::make_plan(pol, opt, error);
    if (!plan) return {{}, error};
    const bool host = plan->place == placement::host;
    std::string out = "#!/usr/sbin/nft -f\n";
    out += rules_detail::header_comment(*plan, "nft script, for nft -f");
    out += rules_detail::queue_spreading_comment(*plan);
    out += "# Every pbxgate table is declared, then deleted (declaring first makes the delete safe\n"
           "# when it is absent), then ours is created: one atomic batch, re-applying never\n"
           "# duplicates anything, and switching family or placement leaves no stale copy.\n";
    for (const char* fam : {"inet", "ip", "ip6"}) {
        out += "table " + std::string(fam) + " pbxgate\n";
        out += "delete table " + std::string(fam) + " pbxgate\n";
    }
    out += "table " + std::string(table_family(opt.family)) + " pbxgate {\n";
    out += blocked_set_decls(pol, opt.family);
    out += host ? "\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n"
                : "\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n";
    out += "\t\t# accept here ends only this chain: other tables' chains still see the packet.\n";
    out += blocked_rules(*plan, opt.family);
    out += offload_rules(*plan);
    if (host) {
        out += sip_reply_rules(*plan, "");
        out += "\t\t# Replies to connections this host opened (DNS answers, HTTPS, SIP registrations):\n"
               "\t\t# before the queue (the engine cannot see conntrack state).\n"
               "\t\tct direction reply accept\n"
               "\t\t# Everything else, loopback included (the engine gives loopback packets the\n"
               "\t\t# localhost zone).\n"
               "\t\t" + queue_statement(*plan) + "\n";
    } else {
        out += router_rules(*plan, opt.family);
    }
    out += "\t}\n";
    if (host && !plan->sip_response_ports.empty()) {
        out += "\tchain output {\n\t\ttype filter hook output priority filter; policy accept;\n";
        out += "\t\t# SIP responses leaving this PBX: queued for SIP protection, observed and always\n"
               "\t\t# accepted (bypass whatever the fail mode).\n";
        out += sip_response_rules(*plan, "");
        out += "\t}\n";
    }
    out += "}\n";
    return {out, {}};
}

}  // namespace pbxgate
