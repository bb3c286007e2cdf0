// What both backends render: the options with the policy's defaults filled in, checked,
// and the protected addresses split per family.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "offload/offload_marks.hpp"
#include "pbxgate/address.hpp"
#include "pbxgate/policy.hpp"
#include "pbxgate/rules.hpp"

namespace pbxgate::rules_detail {

struct rule_plan {
    placement place = placement::host;
    fail_mode fail = fail_mode::open;
    queue_range queues;
    bool cpu_fanout = false;
    std::vector<ip_prefix> protected_v4;  // router placement; prefixes inside another dropped
    std::vector<ip_prefix> protected_v6;
    std::string source;                   // the policy file, for the header comment
    // Flow offload: set when a service offloads (engine.mark_mask).
    std::optional<offload_marks> offload;
    // SIP protection: the source ports of the PBX's SIP responses ([sip] services), queued
    // leaving the PBX (always with bypass: the engine only observes them). Empty: none.
    std::vector<std::pair<const char*, port_range>> sip_response_ports;  // ("udp"|"tcp", ports)
    // Negotiated media: the engine must see every SDP, so the PBX's SIP is queued in both
    // directions (its INVITEs too, not only its answers), and so are the peers' answers on
    // connections the PBX opened (a trunk's 200 OK), which are otherwise accepted unjudged.
    bool sip_media = false;

    const std::vector<ip_prefix>& protected_of(ip_family f) const noexcept {
        return f == ip_family::v4 ? protected_v4 : protected_v6;
    }
};

// Fills in defaults and refuses combinations that cannot work; `error` says why.
std::optional<rule_plan> make_plan(const policy& pol, const rules_options& opt, std::string& error);

// The comment block every output starts with: what was generated and from what.
std::string header_comment(const rule_plan& plan, std::string_view what);

// The explanation of --queue-balance versus --queue-cpu-fanout, as comment lines; empty
// with a single queue.
std::string queue_spreading_comment(const rule_plan& plan);

// The kernel pre-filter: DROP rules for the blocked and ban sets (kernelset/prefilter_sets.hpp),
// as comment + rule lines, `add` the rule prefix ("-A CHAIN "), one family.
std::string prefilter_comment();

// The hex text of a mark or mask ("0x00100000"), as both backends write it.
std::string hex_mark(std::uint32_t v);

const char* to_text(placement p) noexcept;
const char* to_text(fail_mode f) noexcept;

}  // namespace pbxgate::rules_detail
