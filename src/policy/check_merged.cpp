#include "policy/check_merged.hpp"

#include <algorithm>

#include "policy/port_range_lists.hpp"
#include "policy/toml_values.hpp"

namespace pbxgate::policy_detail {

namespace {

std::string at_text(const source_location& where) {
    return where.file + ":" + std::to_string(where.line) + ":" + std::to_string(where.column);
}

std::string range_text(const port_range& r) {
    return r.first == r.last ? std::to_string(r.first) : std::to_string(r.first) + "-" + std::to_string(r.last);
}

void check_complete(const service_draft& s, diagnostics& diag) {
    const std::string table_name = "[services." + s.def.name + "]";
    if (!s.has_proto && !s.has_ports && !s.proto_broken && !s.ports_broken) {
        // One error, not two: a name no file defines is most likely a misspelt one.
        diag.error(s.def.where, "service '" + s.def.name + "' has neither `proto` nor `ports`: no file defines a "
                                "service of this name (misspelt?)");
        return;
    }
    if (!s.has_proto && !s.proto_broken)
        diag.error(s.def.where, "service '" + s.def.name + "' has no `proto` (\"tcp\", \"udp\" or \"tcp+udp\") in " +
                                    table_name + " nor in any file it extends");
    if (!s.has_ports && !s.ports_broken)
        diag.error(s.def.where, "service '" + s.def.name + "' has no `ports` in " + table_name +
                                    " nor in any file it extends");
    if (s.def.enabled && s.has_ports && !s.ports_broken && s.def.ports.empty())
        diag.error(s.ports_at, "service '" + s.def.name + "' is enabled but its `ports` is empty; "
                               "set `enabled = false` to remove it");
}

void check_overlaps(const std::vector<const service_draft*>& services, diagnostics& diag) {
    // One entry per protocol group of each service: `ports` on `proto`, then `more_ports`.
    struct group {
        std::size_t service;
        proto_mask proto;
        std::vector<port_range> ports;
    };
    std::vector<group> groups;
    for (std::size_t i = 0; i < services.size(); ++i) {
        groups.push_back({i, services[i]->def.proto, normalized(services[i]->def.ports)});
        for (const port_set& more : services[i]->def.more_ports) groups.push_back({i, more.proto, normalized(more.ports)});
    }
    for (std::size_t gi = 0; gi < groups.size(); ++gi) {
        for (std::size_t gj = gi + 1; gj < groups.size(); ++gj) {
            const std::size_t i = groups[gi].service, j = groups[gj].service;
            if (i == j) continue;
            const auto shared_proto = static_cast<unsigned>(groups[gi].proto) & static_cast<unsigned>(groups[gj].proto);
            if (shared_proto == 0) continue;
            const auto common = intersection(groups[gi].ports, groups[gj].ports);
            if (common.empty()) continue;
            // Blame the later definition: that is the edit that introduced the clash.
            const bool j_later = services[i]->ports_order < services[j]->ports_order;
            const service_draft& later = j_later ? *services[j] : *services[i];
            const service_draft& earlier = j_later ? *services[i] : *services[j];
            constexpr std::size_t shown = 4;
            std::string ranges;
            for (std::size_t k = 0; k < common.size() && k < shown; ++k)
                ranges += (k ? ", " : "") + range_text(common[k]);
            if (common.size() > shown) ranges += " and " + std::to_string(common.size() - shown) + " more ranges";
            diag.error(later.ports_at, "ports of service '" + later.def.name + "' overlap service '" +
                                           earlier.def.name + "' (ports at " + at_text(earlier.ports_at) + ") on " +
                                           ranges + "/" + std::string(to_string(static_cast<proto_mask>(shared_proto))) +
                                           ": a port belongs to one service; move or disable one of them");
        }
    }
}

}  // namespace

void check_merged(const policy_draft& draft, diagnostics& diag) {
    std::vector<const service_draft*> overlap_candidates;
    std::size_t enabled = 0;
    for (const auto& s : draft.services) {
        check_complete(s, diag);
        if (!s.def.enabled) continue;
        if (++enabled == max_enabled_services + 1)
            diag.error(s.def.where, "too many enabled services: at most " + std::to_string(max_enabled_services) +
                                        " (service ids are one byte); '" + s.def.name + "' is one too many");
        if (s.has_proto && s.has_ports && !s.proto_broken && !s.ports_broken) overlap_candidates.push_back(&s);
    }
    // The pairwise check is quadratic: past the limit the policy is refused anyway.
    if (enabled <= max_enabled_services) check_overlaps(overlap_candidates, diag);

    for (const auto& ref : draft.sip_service_refs) {
        const std::string& name = ref.first;  // clang 14 cannot capture a structured binding
        if (std::none_of(draft.services.begin(), draft.services.end(),
                         [&](const auto& s) { return s.def.name == name; }))
            diag.error(ref.second, "[sip] names service '" + name + "', which no policy file defines");
    }
    // Pinholes come from the SDP the engine reads in SIP: without it every negotiated packet
    // would be dropped.
    if (!draft.sip.enabled)
        for (const auto& s : draft.services)
            if (s.def.enabled && s.def.media == media_mode::negotiated && draft.media.zones != 0)
                diag.error(s.def.where, "[services." + s.def.name + "] media = \"negotiated\" needs [sip] enabled = true: "
                                        "pinholes are opened from the SDP the engine reads in SIP; set media = \"open\"");
    if (draft.engine.place == placement::router && draft.engine.protected_addresses.empty() && !draft.protected_broken)
        diag.error(draft.placement_at, "placement = \"router\" needs engine.protected: the PBX addresses the router "
                                       "guards (e.g. protected = [\"192.0.2.10\"])");
}

}  // namespace pbxgate::policy_detail
