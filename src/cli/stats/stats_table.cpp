#include "cli/stats/stats_table.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <ctime>
#include <map>
#include <set>
#include <tuple>

namespace pbxgate {
namespace {

std::string label(const metric_sample& s, const std::string& key) {
    const auto it = s.labels.find(key);
    return it == s.labels.end() ? "" : it->second;
}

double value_of(const std::vector<metric_sample>& samples, const std::string& name,
                const std::map<std::string, std::string>& labels = {}) {
    for (const auto& s : samples)
        if (s.name == name && s.labels == labels) return s.value;
    return 0;
}

std::string num(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
}

std::string line(const char* fmt, auto... args) {
    char buf[512];
    std::snprintf(buf, sizeof buf, fmt, args...);
    return std::string(buf) + "\n";
}

}  // namespace

std::string format_stats_table(const std::vector<metric_sample>& samples) {
    std::string out;
    std::string version;
    for (const auto& s : samples)
        if (s.name == "pbxgate_build_info") version = label(s, "version");
    const auto last_ok = static_cast<std::time_t>(value_of(samples, "pbxgate_last_reload_success_timestamp_seconds"));
    char when[64] = "never";
    if (last_ok > 0) {
        std::tm tm{};
        gmtime_r(&last_ok, &tm);
        std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
    }
    out += line("pbxgate %s: policy generation %s; reloads %s ok, %s failed; policy last loaded %s", version.c_str(),
                num(value_of(samples, "pbxgate_policy_generation")).c_str(),
                num(value_of(samples, "pbxgate_reloads_total")).c_str(),
                num(value_of(samples, "pbxgate_reload_failures_total")).c_str(), when);
    out += line("verdicts given: %s accepted, %s dropped; %s would drop (monitor mode)",
                num(value_of(samples, "pbxgate_verdicts_total", {{"verdict", "accept"}})).c_str(),
                num(value_of(samples, "pbxgate_verdicts_total", {{"verdict", "drop"}})).c_str(),
                num(value_of(samples, "pbxgate_would_drop_total")).c_str());

    // service x zone -> [accept packets, drop packets, accept bytes, drop bytes]
    std::map<std::pair<std::string, std::string>, std::array<double, 4>> cells;
    for (const auto& s : samples) {
        const bool packets = s.name == "pbxgate_packets_total";
        if ((!packets && s.name != "pbxgate_bytes_total") || s.value == 0) continue;
        const unsigned col = (label(s, "verdict") == "drop" ? 1u : 0u) + (packets ? 0u : 2u);
        cells[{label(s, "service"), label(s, "zone")}][col] += s.value;
    }
    out += "\nby policy verdict (before monitor mode):\n";
    out += line("  %-20s %-10s %12s %12s %14s %14s", "SERVICE", "ZONE", "ACCEPT", "DROP", "ACCEPT BYTES", "DROP BYTES");
    for (const auto& [key, c] : cells)
        out += line("  %-20s %-10s %12s %12s %14s %14s", key.first.c_str(), key.second.c_str(), num(c[0]).c_str(),
                    num(c[1]).c_str(), num(c[2]).c_str(), num(c[3]).c_str());
    if (cells.empty()) out += "  (no packets yet)\n";

    out += "\nby reason:\n";
    bool any_reason = false;
    for (const auto& s : samples)
        if (s.name == "pbxgate_decisions_total" && s.value != 0) {
            out += line("  %-22s %12s", label(s, "reason").c_str(), num(s.value).c_str());
            any_reason = true;
        }
    if (!any_reason) out += "  (no packets yet)\n";

    std::set<std::string> queues;
    for (const auto& s : samples)
        if (s.name == "pbxgate_worker_heartbeat_age_seconds" || s.name == "pbxgate_queue_waiting_packets")
            queues.insert(label(s, "queue"));
    out += "\nqueues:\n";
    out += line("  %-6s %10s %18s %18s %14s", "QUEUE", "WAITING", "KERNEL DROP FULL", "KERNEL DROP SOCK", "HEARTBEAT AGE");
    for (const std::string& q : queues) {
        char age[32];
        std::snprintf(age, sizeof age, "%.2f s", value_of(samples, "pbxgate_worker_heartbeat_age_seconds", {{"queue", q}}));
        out += line("  %-6s %10s %18s %18s %14s", q.c_str(),
                    num(value_of(samples, "pbxgate_queue_waiting_packets", {{"queue", q}})).c_str(),
                    num(value_of(samples, "pbxgate_queue_kernel_dropped_total", {{"queue", q}, {"cause", "queue_full"}})).c_str(),
                    num(value_of(samples, "pbxgate_queue_kernel_dropped_total", {{"queue", q}, {"cause", "socket_full"}})).c_str(),
                    age);
    }
    out += line("  ENOBUFS %s; errors: recv %s, send %s, netlink %s, parse %s; drop log overflow %s",
                num(value_of(samples, "pbxgate_enobufs_total")).c_str(),
                num(value_of(samples, "pbxgate_queue_errors_total", {{"kind", "recv"}})).c_str(),
                num(value_of(samples, "pbxgate_queue_errors_total", {{"kind", "send"}})).c_str(),
                num(value_of(samples, "pbxgate_queue_errors_total", {{"kind", "netlink"}})).c_str(),
                num(value_of(samples, "pbxgate_queue_errors_total", {{"kind", "parse"}})).c_str(),
                num(value_of(samples, "pbxgate_drop_log_overflow_total")).c_str());

    // [crowdsec]: only when the engine has the table (the family is absent otherwise).
    const bool crowdsec = std::any_of(samples.begin(), samples.end(),
                                      [](const metric_sample& s) { return s.name == "pbxgate_crowdsec_up"; });
    if (crowdsec) {
        const double age = value_of(samples, "pbxgate_crowdsec_last_pull_age_seconds");
        out += "\ncrowdsec:\n";
        out += line("  local API %s; last pull %s; %s decisions in force; %s alerts pushed; %s errors; %s evicted, "
                    "%s skipped",
                    value_of(samples, "pbxgate_crowdsec_up") == 1 ? "up" : "DOWN",
                    age < 0 ? "never" : (num(age) + " s ago").c_str(),
                    num(value_of(samples, "pbxgate_crowdsec_decisions")).c_str(),
                    num(value_of(samples, "pbxgate_crowdsec_alerts_pushed_total")).c_str(),
                    num(value_of(samples, "pbxgate_crowdsec_errors_total")).c_str(),
                    num(value_of(samples, "pbxgate_crowdsec_evictions_total")).c_str(),
                    num(value_of(samples, "pbxgate_crowdsec_skipped_total")).c_str());
    }
    // [blocklists]: one line per file, when the engine has any.
    bool lists = false;
    for (const auto& s : samples) {
        if (s.name != "pbxgate_blocklist_entries") continue;
        if (!lists) out += "\nblocklists:\n" + line("  %10s %10s %10s  %s", "ENTRIES", "MALFORMED", "REFUSED", "FILE");
        lists = true;
        const std::map<std::string, std::string> file{{"file", label(s, "file")}};
        out += line("  %10s %10s %10s  %s%s", num(s.value).c_str(),
                    num(value_of(samples, "pbxgate_blocklist_malformed_lines", file)).c_str(),
                    num(value_of(samples, "pbxgate_blocklist_refused_entries", file)).c_str(), label(s, "file").c_str(),
                    value_of(samples, "pbxgate_blocklist_readable", file) == 0 ? " (unreadable: previous entries kept)" : "");
    }
    if (lists)
        out += line("  loads %s, load errors %s; dropped by the engine (reason blocklist) %s",
                    num(value_of(samples, "pbxgate_blocklist_loads_total")).c_str(),
                    num(value_of(samples, "pbxgate_blocklist_load_errors_total")).c_str(),
                    num(value_of(samples, "pbxgate_decisions_total", {{"reason", "blocklist"}})).c_str());
    return out;
}

}  // namespace pbxgate
