#include "policy/asterisk_import.hpp"

#include <algorithm>
#include <filesystem>
#include <map>

#include "policy/port_range_lists.hpp"

namespace pbxgate::policy_detail {

namespace {

struct by_proto {
    std::vector<port_range> tcp, udp;
    friend bool operator==(const by_proto&, const by_proto&) = default;
};

void add_to(by_proto& b, proto_mask proto, const std::vector<port_range>& ports) {
    if (static_cast<unsigned>(proto) & static_cast<unsigned>(proto_mask::tcp)) b.tcp.insert(b.tcp.end(), ports.begin(), ports.end());
    if (static_cast<unsigned>(proto) & static_cast<unsigned>(proto_mask::udp)) b.udp.insert(b.udp.end(), ports.begin(), ports.end());
}

by_proto of_service(const service_def& s) {
    by_proto b;
    add_to(b, s.proto, s.ports);
    for (const port_set& more : s.more_ports) add_to(b, more.proto, more.ports);
    b.tcp = normalized(std::move(b.tcp));
    b.udp = normalized(std::move(b.udp));
    return b;
}

// The groups a service holds: one tcp+udp group when both protocols carry the same ports,
// else a group per protocol, the one on `preferred` first (sip stays "udp" first).
std::vector<port_set> grouped(const by_proto& b, proto_mask preferred) {
    if (!b.tcp.empty() && b.tcp == b.udp) return {port_set{proto_mask::tcp_udp, b.tcp}};
    std::vector<port_set> out;
    if (!b.udp.empty()) out.push_back({proto_mask::udp, b.udp});
    if (!b.tcp.empty()) out.push_back({proto_mask::tcp, b.tcp});
    if (out.size() == 2 && preferred == proto_mask::tcp) std::swap(out[0], out[1]);
    return out;
}

std::string location_text(const source_location& w) { return asterisk::source_text(w); }

}  // namespace

void apply_import(policy_draft& draft, const asterisk::import_result& imported, std::vector<diagnostic>& warnings) {
    std::vector<service_draft*> ranges;  // imported rtp/udptl: they yield to other services
    for (const std::string& name : imported.services) {
        const auto it = std::find_if(draft.services.begin(), draft.services.end(),
                                     [&](const service_draft& s) { return s.def.name == name; });
        if (it == draft.services.end()) continue;  // the policy has no such service: nothing to move
        service_draft& s = *it;
        std::vector<const asterisk::imported_port*> mine;
        by_proto found;
        std::vector<std::string> files;
        for (const auto& p : imported.ports) {
            if (p.service != name) continue;
            mine.push_back(&p);
            add_to(found, p.proto, {p.ports});
            const std::string file = std::filesystem::path(p.where.file).filename().string();
            if (std::find(files.begin(), files.end(), file) == files.end()) files.push_back(file);
        }
        found.tcp = normalized(std::move(found.tcp));
        found.udp = normalized(std::move(found.udp));
        std::string sources;
        for (const auto* p : mine) sources += (sources.empty() ? "" : ", ") + location_text(p->where);

        if (s.has_ports && s.ports_order.file_rank > 0) {
            // Set in a site file: it wins. Say so when Asterisk listens elsewhere.
            if (!s.ports_broken && s.def.enabled && of_service(s.def) != found) {
                service_def asterisk_view;
                const auto groups = grouped(found, s.def.proto);
                std::string listens = "nothing";
                if (!groups.empty()) {
                    asterisk_view.proto = groups[0].proto;
                    asterisk_view.ports = groups[0].ports;
                    asterisk_view.more_ports.assign(groups.begin() + 1, groups.end());
                    listens = describe_ports(asterisk_view) + " (" + sources + ")";
                }
                warnings.push_back({s.ports_at, "services." + name + " ports " + describe_ports(s.def) +
                                                    " are set here, but Asterisk listens on " + listens +
                                                    ": the site file wins"});
            }
            continue;
        }
        if (!s.def.enabled) continue;  // the policy turned it off: importing does not turn it on

        s.def.imported.clear();
        for (const auto* p : mine) s.def.imported.push_back({p->proto, p->ports, location_text(p->where), p->why});
        std::string from;
        for (const auto& f : files) from += (from.empty() ? "" : ", ") + f;
        s.def.imported_from = "asterisk: " + (from.empty() ? std::string("nothing listens") : from);
        const auto groups = grouped(found, s.def.proto);
        if (groups.empty()) {
            s.def.enabled = false;  // nothing listens: nothing to open
            continue;
        }
        s.def.proto = groups[0].proto;
        s.def.ports = groups[0].ports;
        s.def.more_ports.assign(groups.begin() + 1, groups.end());
        s.has_ports = s.has_proto = true;
        s.ports_broken = s.proto_broken = false;
        s.ports_at = mine.front()->where;
        if (name == "rtp" || name == "udptl") ranges.push_back(&s);
    }

    for (service_draft* r : ranges) {
        for (const service_draft& other : draft.services) {
            if (&other == r || !other.def.enabled || !other.has_ports) continue;
            const by_proto held = of_service(other.def);
            auto carve = [&](std::vector<port_range>& ports, proto_mask proto) {
                if (static_cast<unsigned>(proto) & static_cast<unsigned>(proto_mask::udp)) ports = subtract(ports, held.udp);
                if (static_cast<unsigned>(proto) & static_cast<unsigned>(proto_mask::tcp)) ports = subtract(ports, held.tcp);
            };
            carve(r->def.ports, r->def.proto);
            for (port_set& more : r->def.more_ports) carve(more.ports, more.proto);
        }
        if (r->def.ports.empty() && r->def.more_ports.empty()) r->def.enabled = false;
    }
}

std::vector<std::string> import_asterisk_ports(policy_draft& draft, diagnostics& diag,
                                               std::vector<diagnostic>& warnings) {
    if (!draft.asterisk.import) return {};
    std::error_code ec;
    if (!std::filesystem::is_directory(draft.asterisk.config_dir, ec)) {
        // A mistyped directory would read as "nothing listens" and close SIP: refuse instead.
        diag.error(draft.asterisk_import_at, "asterisk.import is on, but asterisk.config_dir '" +
                                                 draft.asterisk.config_dir + "' is not a directory");
        return {draft.asterisk.config_dir + "/pjsip.conf"};
    }
    const asterisk::import_result r = asterisk::import_ports(draft.asterisk.config_dir);
    if (!r.ok()) {
        for (const auto& e : r.errors) diag.error(e.where, "asterisk configuration: " + e.message);
        return r.files;
    }
    apply_import(draft, r, warnings);
    return r.files;
}

}  // namespace pbxgate::policy_detail
