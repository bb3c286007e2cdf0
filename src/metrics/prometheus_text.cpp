#include "metrics/prometheus_text.hpp"

#include "protect/source_table.hpp"
#include "sip/sip_message.hpp"

#include <cstdio>
#include <string_view>

namespace pbxgate {
namespace {

// Label values escape backslash, double quote and newline (the format's three escapes).
std::string escape_label(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (const char c : v) {
        if (c == '\\') out += "\\\\";
        else if (c == '"') out += "\\\"";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

class exposition {
public:
    void family(const char* name, const char* type, const char* help) {
        text_ += "# HELP ";
        text_ += name;
        text_ += ' ';
        text_ += help;
        text_ += "\n# TYPE ";
        text_ += name;
        text_ += ' ';
        text_ += type;
        text_ += '\n';
    }
    // labels: "k1", "v1", "k2", "v2"...
    void sample(const char* name, std::initializer_list<std::string_view> labels, std::uint64_t value) {
        open(name, labels);
        text_ += std::to_string(value);
        text_ += '\n';
    }
    void sample(const char* name, std::initializer_list<std::string_view> labels, double value) {
        open(name, labels);
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.17g", value);
        text_ += buf;
        text_ += '\n';
    }
    // A family of one sample without labels.
    template <class V>
    void single(const char* name, const char* type, const char* help, V value) {
        family(name, type, help);
        sample(name, {}, value);
    }
    std::string take() { return std::move(text_); }

private:
    void open(const char* name, std::initializer_list<std::string_view> labels) {
        text_ += name;
        if (labels.size() > 0) {
            text_ += '{';
            bool key = true, first = true;
            for (const std::string_view part : labels) {
                if (key) {
                    if (!first) text_ += ',';
                    text_ += part;
                    text_ += "=\"";
                } else {
                    text_ += escape_label(part);
                    text_ += '"';
                }
                key = !key;
                first = false;
            }
            text_ += '}';
        }
        text_ += ' ';
    }
    std::string text_;
};

const kernel_queue_stats* kernel_line(const engine_status& s, std::uint16_t q) {
    for (const kernel_queue_stats& k : s.kernel)
        if (k.queue_num == q) return &k;
    return nullptr;
}

}  // namespace

std::string format_prometheus(const metrics_snapshot& m) {
    const engine_status& s = m.status;
    const counters_snapshot& c = s.counters;
    exposition x;

    const std::string_view verdicts[2] = {to_string(verdict::accept), to_string(verdict::drop)};
    const std::size_t services = m.service_names.empty() ? 1 : m.service_names.size();
    auto service_label = [&](std::size_t id) -> std::string_view {
        return id < m.service_names.size() ? std::string_view(m.service_names[id]) : std::string_view("none");
    };
    auto per_cell = [&](const char* name, const auto& table) {
        for (std::size_t svc = 0; svc < services && svc < 256; ++svc)
            for (unsigned z = 0; z < zone_count; ++z)
                for (unsigned v = 0; v < 2; ++v)
                    x.sample(name,
                             {"verdict", verdicts[v], "service", service_label(svc), "zone",
                              to_string(static_cast<zone>(z))},
                             table[svc][z][v]);
    };
    x.family("pbxgate_packets_total", "counter",
             "Packets judged, by the policy's verdict (before monitor mode), service and source zone.");
    per_cell("pbxgate_packets_total", c.packets_by);
    x.family("pbxgate_bytes_total", "counter",
             "Bytes judged (IP packet length), by the policy's verdict, service and source zone.");
    per_cell("pbxgate_bytes_total", c.bytes_by);

    x.family("pbxgate_verdicts_total", "counter",
             "Verdicts given to the kernel (in monitor mode every packet is accepted); drops include the kernel "
             "pre-filter's.");
    x.sample("pbxgate_verdicts_total", {"verdict", "accept"}, c.accepted);
    x.sample("pbxgate_verdicts_total", {"verdict", "drop"}, c.dropped);
    x.single("pbxgate_would_drop_total", "counter",
             "Packets the policy drops that monitor mode accepted.", c.would_drop);

    x.family("pbxgate_decisions_total", "counter",
             "Packets by the reason of their verdict; every reason but allowed, not_protected, pinhole and "
             "media_signalling_peer is a drop "
             "unless the policy's defaults say accept.");
    for (unsigned r = 0; r < reason_count; ++r)
        x.sample("pbxgate_decisions_total", {"reason", to_string(static_cast<reason>(r))}, c.by_reason[r]);

    x.single("pbxgate_prefilter_dropped_total", "counter",
             "Packets the kernel pre-filter sets (blocked zone, bans) dropped before the queue; also counted as "
             "judged drops: reason blocked, zone blocked, service none.", s.prefilter_dropped);
    x.single("pbxgate_bursts_total", "counter", "Receive bursts (one recvmmsg each) the workers judged.", c.bursts);
    x.single("pbxgate_enobufs_total", "counter",
             "ENOBUFS from the queue sockets: the kernel dropped messages because a socket buffer overran.", c.enobufs);
    x.family("pbxgate_queue_errors_total", "counter", "Errors on the queue sockets, by kind.");
    x.sample("pbxgate_queue_errors_total", {"kind", "recv"}, c.recv_errors);
    x.sample("pbxgate_queue_errors_total", {"kind", "send"}, c.send_errors);
    x.sample("pbxgate_queue_errors_total", {"kind", "netlink"}, c.netlink_errors);
    x.sample("pbxgate_queue_errors_total", {"kind", "parse"}, c.parse_errors);
    x.single("pbxgate_verdicts_resent_total", "counter",
             "Verdicts sent again after a failed send (queue_errors_total{kind=\"send\"}); none is lost.",
             c.resent_verdicts);
    x.single("pbxgate_drop_log_overflow_total", "counter",
             "Drop log records lost because a worker's ring was full.", c.drop_log_overflow);

    x.family("pbxgate_queue_waiting_packets", "gauge",
             "Packets waiting in the kernel queue for a verdict (/proc/net/netfilter/nfnetlink_queue).");
    for (const std::uint16_t q : s.queues)
        if (const kernel_queue_stats* k = kernel_line(s, q))
            x.sample("pbxgate_queue_waiting_packets", {"queue", std::to_string(q)}, std::uint64_t{k->queue_total});
    x.family("pbxgate_queue_kernel_dropped_total", "counter",
             "Packets the kernel dropped before pbxgate saw them: queue_full (longer than queue_maxlen) or "
             "socket_full (netlink socket buffer).");
    for (const std::uint16_t q : s.queues)
        if (const kernel_queue_stats* k = kernel_line(s, q)) {
            const std::string qs = std::to_string(q);
            x.sample("pbxgate_queue_kernel_dropped_total", {"queue", qs, "cause", "queue_full"},
                     std::uint64_t{k->queue_dropped});
            x.sample("pbxgate_queue_kernel_dropped_total", {"queue", qs, "cause", "socket_full"},
                     std::uint64_t{k->user_dropped});
        }
    x.family("pbxgate_worker_heartbeat_age_seconds", "gauge",
             "Seconds since each queue's worker last went round its loop (it wakes at least every 0.1 s).");
    for (std::size_t i = 0; i < s.queues.size() && i < m.heartbeat_age_seconds.size(); ++i)
        x.sample("pbxgate_worker_heartbeat_age_seconds", {"queue", std::to_string(s.queues[i])},
                 m.heartbeat_age_seconds[i]);

    x.single("pbxgate_policy_generation", "gauge",
             "Generation of the policy in force (1 at start, +1 per reload).", s.generation);
    x.single("pbxgate_reloads_total", "counter", "Successful policy reloads.", s.reloads);
    x.single("pbxgate_reload_failures_total", "counter",
             "Refused policy reloads (the old generation stayed).", s.reload_failures);
    x.single("pbxgate_last_reload_success_timestamp_seconds", "gauge",
             "Unix time of the last successful policy load (the start counts as one).", s.last_reload_success_unix);
    x.family("pbxgate_offloaded_flows_total", "counter",
             "Flows handed to the kernel (flow offload) after their first packets were judged, by verdict.");
    x.sample("pbxgate_offloaded_flows_total", {"verdict", "accept"}, c.offloaded_accepts);
    x.sample("pbxgate_offloaded_flows_total", {"verdict", "drop"}, c.offloaded_drops);
    if (s.blocklists.present) {
        const blocklist_metrics& b = s.blocklists;
        x.family("pbxgate_blocklist_entries", "gauge",
                 "Entries in force from each [blocklists] file (an unreadable file keeps its previous entries).");
        for (const blocklist_file_metrics& f : b.files) x.sample("pbxgate_blocklist_entries", {"file", f.path}, f.entries);
        x.family("pbxgate_blocklist_malformed_lines", "gauge", "Lines of each blocklist file skipped at its last read.");
        for (const blocklist_file_metrics& f : b.files)
            x.sample("pbxgate_blocklist_malformed_lines", {"file", f.path}, f.malformed);
        x.family("pbxgate_blocklist_refused_entries", "gauge",
                 "Entries of each blocklist file beyond blocklists.max_entries, not applied.");
        for (const blocklist_file_metrics& f : b.files)
            x.sample("pbxgate_blocklist_refused_entries", {"file", f.path}, f.refused);
        x.family("pbxgate_blocklist_readable", "gauge", "1 when the last read of the blocklist file succeeded.");
        for (const blocklist_file_metrics& f : b.files)
            x.sample("pbxgate_blocklist_readable", {"file", f.path}, std::uint64_t{f.readable ? 1u : 0u});
        x.single("pbxgate_blocklist_loads_total", "counter",
                 "Blocklist loads (start, list changes, policy reloads).", b.loads);
        x.single("pbxgate_blocklist_load_errors_total", "counter",
                 "Malformed blocklist lines and unreadable blocklist files, summed over every load.", b.load_errors);
        x.single("pbxgate_blocklist_last_load_timestamp_seconds", "gauge",
                 "Unix time of the last blocklist load.", b.last_load_unix);
        x.single("pbxgate_blocklist_last_load_duration_seconds", "gauge",
                 "How long the last blocklist load took (read, parse, build, publish).", b.last_load_seconds);
    }
    x.single("pbxgate_start_time_seconds", "gauge", "Unix time the engine started.", m.start_time_unix);
    if (m.sip.present) {
        const sip_metrics& sm = m.sip;
        x.family("pbxgate_sip_requests_total", "counter", "SIP requests read, by method and source zone.");
        for (unsigned meth = 0; meth < sip::method_count; ++meth)
            for (unsigned z = 0; z < zone_count; ++z)
                x.sample("pbxgate_sip_requests_total",
                         {"method", sip::to_string(static_cast<sip::method>(meth)), "zone", to_string(static_cast<zone>(z))},
                         sm.requests[meth][z]);
        x.family("pbxgate_sip_responses_total", "counter", "SIP responses seen, by status class (1xx..6xx).");
        for (unsigned k = 1; k <= 6; ++k)
            x.sample("pbxgate_sip_responses_total", {"class", std::to_string(k) + "xx"}, sm.responses[k]);
        x.family("pbxgate_sip_bans_total", "counter", "Sources banned by SIP protection, by reason.");
        for (unsigned r = 1; r < protect::ban_reason_count; ++r)
            x.sample("pbxgate_sip_bans_total", {"reason", protect::to_string(static_cast<protect::ban_reason>(r))},
                     sm.bans[r]);
        x.single("pbxgate_sip_malformed_total", "counter",
                 "Packets on a SIP port that are not SIP (malformed_sip): judged by the port policy.", sm.malformed);
        x.single("pbxgate_sip_connection_attempts_total", "counter",
                 "TCP SYNs to the encrypted SIP services.", sm.connection_attempts);
        x.single("pbxgate_sip_retransmissions_total", "counter",
                 "SIP requests seen again (not counted for rate).", sm.retransmissions);
        x.single("pbxgate_sip_keepalives_total", "counter", "CRLF keepalives on SIP ports.", sm.keepalives);
        x.family("pbxgate_sip_sources", "gauge", "Sources in the SIP state table, by state.");
        x.sample("pbxgate_sip_sources", {"state", "banned"}, sm.banned);
        x.sample("pbxgate_sip_sources", {"state", "registered"}, sm.registered);
        x.sample("pbxgate_sip_sources", {"state", "known"}, sm.known);
        x.sample("pbxgate_sip_sources", {"state", "tracked"}, sm.tracked);
        x.single("pbxgate_sip_evictions_total", "counter",
                 "Quiet unknown sources evicted from the full SIP state table.", sm.evictions);
        x.single("pbxgate_sip_untracked_total", "counter",
                 "New sources not tracked because their table neighbourhood held only banned or trusted ones.",
                 sm.untracked);
    }
    if (m.crowdsec.present) {
        const crowdsec_metrics& cs = m.crowdsec;
        x.single("pbxgate_crowdsec_up", "gauge",
                 "1 when the last call to the CrowdSec local API succeeded.", std::uint64_t{cs.up ? 1u : 0u});
        x.single("pbxgate_crowdsec_last_pull_age_seconds", "gauge",
                 "Seconds since the last successful decision pull; -1 before the first.", cs.last_pull_age_seconds);
        x.single("pbxgate_crowdsec_decisions", "gauge", "Sources banned by CrowdSec decisions now.", cs.decisions);
        x.single("pbxgate_crowdsec_alerts_pushed_total", "counter",
                 "This engine's bans pushed as CrowdSec alerts.", cs.alerts_pushed);
        x.single("pbxgate_crowdsec_errors_total", "counter",
                 "Failed calls to the local API and unusable answers.", cs.errors);
        x.single("pbxgate_crowdsec_evictions_total", "counter",
                 "CrowdSec bans evicted (the soonest to expire) at the ban table's capacity.", cs.evictions);
        x.single("pbxgate_crowdsec_skipped_total", "counter",
                 "Decisions not applied: not a ban, not an Ip or Range, malformed, over the limits.", cs.skipped);
        x.single("pbxgate_crowdsec_protected_total", "counter",
                 "Sources a decision named that stayed unbanned: trusted, lan or localhost.", cs.protected_zone);
    }
    x.family("pbxgate_build_info", "gauge", "Always 1; the version is the label.");
    x.sample("pbxgate_build_info", {"version", PBXGATE_VERSION}, std::uint64_t{1});
    return x.take();
}

}  // namespace pbxgate
