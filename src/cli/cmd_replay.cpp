// pbxgate replay: judge every packet of pcap/pcapng captures as inbound to the host, tally
// the verdicts, and time the judging loop (parse + classify, packets preloaded in memory).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "util/json_writer.hpp"
#include "cli/load_or_report.hpp"
#include "pbxgate/replay.hpp"

namespace pbxgate::cli {
namespace {

struct replay_options {
    std::string policy_path;
    std::vector<std::string> captures;
    std::string per_packet_path;
    unsigned passes = 7;
    bool json = false;
    std::vector<std::string> pbx;  // --pbx: turns on the SIP protection stage
};

void write_counts_json(json_writer& j, const replay_tally& t, const compiled_policy& cp) {
    j.key("by_service").begin_object();
    for (unsigned id = 1; id < t.by_service.size(); ++id)
        if (t.by_service[id]) j.key(cp.service_name(static_cast<service_id>(id))).value(t.by_service[id]);
    if (t.by_service[0]) j.key("none").value(t.by_service[0]);
    j.end_object();
    j.key("by_zone").begin_object();
    for (unsigned z = 0; z < zone_count; ++z)
        if (t.by_zone[z]) j.key(to_string(static_cast<zone>(z))).value(t.by_zone[z]);
    j.end_object();
    j.key("by_reason").begin_object();
    for (unsigned r = 0; r < reason_count; ++r)
        if (t.by_reason[r]) j.key(to_string(static_cast<reason>(r))).value(t.by_reason[r]);
    j.end_object();
}

void print_table(const replay_tally& t, const compiled_policy& cp, const timing& tm) {
    std::printf("packets %llu  accept %llu  drop %llu  skipped (not IP) %llu\n",
                static_cast<unsigned long long>(t.packets), static_cast<unsigned long long>(t.accept),
                static_cast<unsigned long long>(t.drop), static_cast<unsigned long long>(t.skipped));
    std::printf("\n%-20s %10s\n", "service", "packets");
    for (unsigned id = 1; id < t.by_service.size(); ++id)
        if (t.by_service[id])
            std::printf("%-20s %10llu\n", std::string(cp.service_name(static_cast<service_id>(id))).c_str(),
                        static_cast<unsigned long long>(t.by_service[id]));
    if (t.by_service[0]) std::printf("%-20s %10llu\n", "(none)", static_cast<unsigned long long>(t.by_service[0]));
    std::printf("\n%-20s %10s\n", "zone", "packets");
    for (unsigned z = 0; z < zone_count; ++z)
        if (t.by_zone[z])
            std::printf("%-20s %10llu\n", std::string(to_string(static_cast<zone>(z))).c_str(),
                        static_cast<unsigned long long>(t.by_zone[z]));
    std::printf("\n%-20s %10s\n", "reason", "packets");
    for (unsigned r = 0; r < reason_count; ++r)
        if (t.by_reason[r])
            std::printf("%-20s %10llu\n", std::string(to_string(static_cast<reason>(r))).c_str(),
                        static_cast<unsigned long long>(t.by_reason[r]));
    if (tm.passes)
        std::printf("\njudging (parse + classify): %.1f ns/packet best, %.1f median, %u passes of %llu packets\n",
                    tm.best_ns_per_packet, tm.median_ns_per_packet, tm.passes,
                    static_cast<unsigned long long>(tm.packets_per_pass));
}

int run_replay(const replay_options& o) {
    const auto cp = load_or_report(o.policy_path);
    if (!cp) return exit_failure;

    std::vector<capture_contents> captures;
    for (const std::string& path : o.captures) {
        try {
            captures.push_back(read_capture(path));
        } catch (const std::exception& e) {
            std::fprintf(stderr, "pbxgate replay: %s\n", e.what());
            return exit_failure;
        }
    }

    std::ofstream per_packet;
    if (!o.per_packet_path.empty()) {
        per_packet.open(o.per_packet_path, std::ios::out | std::ios::trunc);
        if (!per_packet) {
            std::fprintf(stderr, "pbxgate replay: cannot write --per-packet file '%s'\n", o.per_packet_path.c_str());
            return exit_failure;
        }
    }

    std::unique_ptr<replay_sip> sip;
    if (!o.pbx.empty()) {
        sip = std::make_unique<replay_sip>();
        for (const std::string& item : o.pbx) {
            std::string err;
            const auto p = parse_prefix(item, &err);
            if (!p) {
                std::fprintf(stderr, "pbxgate replay: --pbx '%s': %s\n", item.c_str(), err.c_str());
                return exit_usage;
            }
            sip->pbx.push_back(*p);
        }
    }

    replay_tally tally;
    packet_arena arena;
    for (std::size_t f = 0; f < captures.size(); ++f) {
        replay_observer observe;
        if (per_packet.is_open()) {
            const std::string& file = o.captures[f];
            observe = [&](const captured_packet& p, const packet_view&, const decision& d) {
                json_writer j;
                j.begin_object().key("index").value(std::uint64_t{p.index}).key("file").value(file);
                j.key("verdict").value(to_string(d.action)).key("zone").value(to_string(d.from)).key("service");
                if (d.service == no_service_id) j.null();
                else j.value(cp->service_name(d.service));
                j.key("reason").value(to_string(d.why)).end_object();
                per_packet << j.str() << '\n';
            };
        }
        replay_capture(*cp, captures[f], tally, observe, sip.get());
        for (const captured_packet& p : captures[f].packets) arena.add(p);
    }
    if (per_packet.is_open()) {
        per_packet.flush();
        if (!per_packet) {
            std::fprintf(stderr, "pbxgate replay: writing '%s' failed\n", o.per_packet_path.c_str());
            return exit_failure;
        }
    }

    const timing tm = time_judging(*cp, arena, o.passes);
    if (o.json) {
        json_writer j;
        j.begin_object().key("packets").value(tally.packets).key("accept").value(tally.accept);
        j.key("drop").value(tally.drop).key("skipped").value(tally.skipped);
        write_counts_json(j, tally, *cp);
        if (sip) {
            j.key("bans").begin_array();
            for (const replay_ban& b : sip->bans) {
                j.begin_object().key("source").value(to_string(b.source)).key("reason").value(b.reason);
                j.key("index").value(b.index).key("duration_s").value(std::uint64_t{b.duration_s}).end_object();
            }
            j.end_array();
        }
        j.key("ns_per_packet");
        if (tm.passes) j.value(tm.best_ns_per_packet);
        else j.null();
        j.key("ns_per_packet_median");
        if (tm.passes) j.value(tm.median_ns_per_packet);
        else j.null();
        j.key("mpps");
        if (tm.passes && tm.best_ns_per_packet > 0) j.value(1e3 / tm.best_ns_per_packet);
        else j.null();
        j.end_object();
        std::printf("%s\n", j.str().c_str());
    } else {
        print_table(tally, *cp, tm);
        if (sip) {
            std::printf("\nSIP bans: %zu\n", sip->bans.size());
            for (const replay_ban& b : sip->bans)
                std::printf("  %s %s at packet %llu for %u s\n", to_string(b.source).c_str(), b.reason.c_str(),
                            static_cast<unsigned long long>(b.index), b.duration_s);
        }
    }
    return exit_ok;
}

}  // namespace

void register_replay_command(CLI::App& app, int& exit_code) {
    auto* cmd = app.add_subcommand("replay", "judge every packet of pcap/pcapng captures, as inbound to the host");
    auto o = std::make_shared<replay_options>();
    cmd->add_option("--policy", o->policy_path, "policy file (TOML)")->required();
    cmd->add_option("CAPTURE", o->captures, "pcap or pcapng files")->required();
    cmd->add_option("--per-packet", o->per_packet_path,
                    "also write one JSON line per IP packet: index (0-based frame number in its file), "
                    "file, verdict, zone, service, reason");
    cmd->add_option("--passes", o->passes, "timing passes (best and median are reported)")->check(CLI::Range(1, 1000));
    cmd->add_flag("--json", o->json, "print one JSON object");
    cmd->add_option("--pbx", o->pbx,
                    "ADDR|PREFIX[,...]: the PBX's addresses; runs SIP protection on capture time (packets from "
                    "these are the PBX's responses, the rest inbound); --json then lists \"bans\"")
        ->delimiter(',');
    cmd->callback([o, &exit_code] { exit_code = run_replay(*o); });
}

}  // namespace pbxgate::cli
