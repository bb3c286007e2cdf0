// pbxgate import-asterisk: what Asterisk listens on, read from its configuration
// directory, with the FILE:LINE that decided each port. TOML ready to paste into a site
// file (to pin the ports instead of following them with `[asterisk] import = true`), or
// JSON for scripts.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <algorithm>
#include <map>

#include "asterisk/port_mapping.hpp"
#include "cli/commands.hpp"
#include "util/json_writer.hpp"

namespace pbxgate::cli {
namespace {

std::string range_text(const port_range& r) {
    return r.first == r.last ? std::to_string(r.first) : std::to_string(r.first) + "-" + std::to_string(r.last);
}

std::string proto_text(proto_mask p) {
    return p == proto_mask::tcp ? "tcp" : p == proto_mask::udp ? "udp" : "tcp+udp";
}

std::string toml_port(const port_range& r) {
    return r.first == r.last ? std::to_string(r.first) : "\"" + range_text(r) + "\"";
}

void print_toml(const std::string& dir, const asterisk::import_result& r) {
    std::printf("# What Asterisk listens on, from %s (pbxgate import-asterisk).\n"
                "# Paste into a site file to pin these ports; or set [asterisk] import = true to follow them.\n",
                dir.c_str());
    for (const std::string& service : r.services) {
        // Ports by protocol; a port on both protocols is written once as tcp+udp.
        std::map<proto_mask, std::vector<const asterisk::imported_port*>> by_proto;
        for (const auto& p : r.ports)
            if (p.service == service) by_proto[p.proto].push_back(&p);
        std::printf("\n");
        if (by_proto.empty()) {
            std::printf("[services.%s]\n# Asterisk opens nothing for it.\nenabled = false\n", service.c_str());
            continue;
        }
        auto ports_of = [](const std::vector<const asterisk::imported_port*>& list) {
            std::vector<port_range> out;
            for (const auto* p : list)
                if (std::find(out.begin(), out.end(), p->ports) == out.end()) out.push_back(p->ports);
            std::sort(out.begin(), out.end(), [](const port_range& a, const port_range& b) { return a.first < b.first; });
            return out;
        };
        std::vector<std::pair<proto_mask, std::vector<const asterisk::imported_port*>>> groups;
        const auto udp = by_proto.find(proto_mask::udp), tcp = by_proto.find(proto_mask::tcp);
        if (udp != by_proto.end() && tcp != by_proto.end() && ports_of(udp->second) == ports_of(tcp->second)) {
            auto both = udp->second;
            both.insert(both.end(), tcp->second.begin(), tcp->second.end());
            groups.emplace_back(proto_mask::tcp_udp, both);
        } else {
            // UDP first: the shipped sip service is a UDP one.
            if (udp != by_proto.end()) groups.emplace_back(proto_mask::udp, udp->second);
            if (tcp != by_proto.end()) groups.emplace_back(proto_mask::tcp, tcp->second);
        }
        bool first = true;
        for (const auto& [proto, list] : groups) {
            // A site file holds one protocol per service: a second protocol on other ports
            // can only be followed by the import, or pinned as a service of its own.
            const char* lead = first ? "" : "# ";
            if (!first)
                std::printf("# Also on %s: a service holds one protocol in a site file; keep\n"
                            "# [asterisk] import = true, or add a service of your own (with allow):\n"
                            "# [services.%s-%s]\n",
                            proto_text(proto).c_str(), service.c_str(), proto_text(proto).c_str());
            else
                std::printf("[services.%s]\n", service.c_str());
            std::printf("%sproto = \"%s\"\n%sports = [", lead, proto_text(proto).c_str(), lead);
            auto ranges = ports_of(list);
            // A port belongs to one service: a range (rtp, udptl) leaves to the other imported
            // services the ports they listen on (Asterisk skips bound ports), as the import does.
            std::vector<std::uint16_t> held;
            for (const auto& other : r.ports)
                if (other.service != service && other.ports.first == other.ports.last &&
                    (static_cast<unsigned>(other.proto) & static_cast<unsigned>(proto)))
                    held.push_back(other.ports.first);
            for (const std::uint16_t port : held) {
                std::vector<port_range> cut;
                for (const port_range& x : ranges) {
                    if (x.first == x.last || port < x.first || port > x.last) {
                        cut.push_back(x);  // single ports stay: only ranges yield
                        continue;
                    }
                    if (port > x.first) cut.push_back({x.first, static_cast<std::uint16_t>(port - 1)});
                    if (port < x.last) cut.push_back({static_cast<std::uint16_t>(port + 1), x.last});
                }
                ranges = std::move(cut);
            }
            for (std::size_t i = 0; i < ranges.size(); ++i) std::printf("%s%s", i ? ", " : "", toml_port(ranges[i]).c_str());
            std::printf("]\n");
            for (const auto* p : list)
                std::printf("# %s/%s from %s (%s)\n", range_text(p->ports).c_str(), proto_text(p->proto).c_str(),
                            asterisk::source_text(p->where).c_str(), p->why.c_str());
            first = false;
        }
    }
}

void print_json(const asterisk::import_result& r) {
    json_writer j;
    j.begin_array();
    for (const auto& p : r.ports) {
        j.begin_object();
        j.key("service").value(p.service).key("proto").value(proto_text(p.proto)).key("ports").value(range_text(p.ports));
        j.key("source").value(asterisk::source_text(p.where));
        j.end_object();
    }
    j.end_array();
    std::printf("%s\n", j.str().c_str());
}

}  // namespace

void register_import_asterisk_command(CLI::App& app, int& exit_code) {
    auto* cmd = app.add_subcommand("import-asterisk", "print the ports Asterisk listens on, from its configuration");
    auto dir = std::make_shared<std::string>("/etc/asterisk");
    auto json = std::make_shared<bool>(false);
    cmd->add_option("--config-dir", *dir, "Asterisk's configuration directory (default /etc/asterisk)");
    cmd->add_flag("--json", *json, "a JSON array of {service, proto, ports, source}");
    cmd->callback([dir, json, &exit_code] {
        const asterisk::import_result r = asterisk::import_ports(*dir);
        for (const diagnostic& e : r.errors) std::fprintf(stderr, "%s\n", e.to_string().c_str());
        if (!r.ok()) {
            std::fprintf(stderr, "%s: %zu error%s: Asterisk would refuse this configuration; nothing imported\n",
                         dir->c_str(), r.errors.size(), r.errors.size() == 1 ? "" : "s");
            exit_code = exit_failure;
            return;
        }
        for (const diagnostic& n : r.notes) {
            std::string line = n.to_string();
            if (const auto at = line.find(": error: "); at != std::string::npos) line.replace(at, 9, ": note: ");
            std::fprintf(stderr, "%s\n", line.c_str());
        }
        if (*json) print_json(r);
        else print_toml(*dir, r);
        exit_code = exit_ok;
    });
}

}  // namespace pbxgate::cli
