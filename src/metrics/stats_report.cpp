#include "metrics/stats_report.hpp"

#include <algorithm>
#include <cstdio>

#include "util/json_writer.hpp"

namespace pbxgate {

void add_prefilter_drops(engine_status& s, std::uint64_t packets, std::uint64_t bytes) noexcept {
    counters_snapshot& c = s.counters;
    s.prefilter_dropped = packets;
    c.packets += packets;
    c.bytes += bytes;
    c.dropped += packets;
    c.by_reason[static_cast<unsigned>(reason::blocked)] += packets;
    const auto z = static_cast<unsigned>(zone::blocked);
    const auto drop = static_cast<unsigned>(verdict::drop);
    c.packets_by[no_service_id][z][drop] += packets;
    c.bytes_by[no_service_id][z][drop] += bytes;
}
namespace {

std::string service_label(const compiled_policy& names, unsigned id) {
    return id == no_service_id ? "none" : std::string(names.service_name(static_cast<service_id>(id)));
}

const kernel_queue_stats* kernel_line(const engine_status& s, std::uint16_t q) {
    for (const kernel_queue_stats& k : s.kernel)
        if (k.queue_num == q) return &k;
    return nullptr;
}

}  // namespace

std::vector<std::string> format_status_lines(const engine_status& s, const compiled_policy& names) {
    const counters_snapshot& c = s.counters;
    std::vector<std::string> lines;
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "generation %llu: %llu packets, %llu accepted, %llu dropped, %llu would drop (monitor); "
                  "%llu bursts (%.1f packets/burst), %llu recv and %llu send syscalls, %llu ENOBUFS; reloads %llu ok, %llu failed",
                  static_cast<unsigned long long>(s.generation), static_cast<unsigned long long>(c.packets),
                  static_cast<unsigned long long>(c.accepted), static_cast<unsigned long long>(c.dropped),
                  static_cast<unsigned long long>(c.would_drop), static_cast<unsigned long long>(c.bursts),
                  c.bursts ? static_cast<double>(c.packets) / static_cast<double>(c.bursts) : 0.0,
                  static_cast<unsigned long long>(c.recv_calls), static_cast<unsigned long long>(c.send_calls),
                  static_cast<unsigned long long>(c.enobufs), static_cast<unsigned long long>(s.reloads),
                  static_cast<unsigned long long>(s.reload_failures));
    lines.emplace_back(buf);
    std::string reasons = "by reason:";
    for (unsigned r = 0; r < reason_count; ++r)
        if (c.by_reason[r]) reasons += " " + std::string(to_string(static_cast<reason>(r))) + "=" + std::to_string(c.by_reason[r]);
    lines.push_back(reasons);
    for (unsigned svc = 0; svc < 256; ++svc)
        for (unsigned z = 0; z < zone_count; ++z) {
            const auto& cell = c.packets_by[svc][z];
            if (!cell[0] && !cell[1]) continue;
            std::snprintf(buf, sizeof buf, "  %-18s %-9s accept %10llu  drop %10llu", service_label(names, svc).c_str(),
                          std::string(to_string(static_cast<zone>(z))).c_str(), static_cast<unsigned long long>(cell[0]),
                          static_cast<unsigned long long>(cell[1]));
            lines.emplace_back(buf);
        }
    for (const std::uint16_t q : s.queues) {
        if (const kernel_queue_stats* k = kernel_line(s, q)) {
            std::snprintf(buf, sizeof buf, "queue %u: %u waiting, kernel dropped %u (queue full) + %u (socket full)", q,
                          k->queue_total, k->queue_dropped, k->user_dropped);
            lines.emplace_back(buf);
        }
    }
    return lines;
}

std::string format_status_json(const engine_status& s, const compiled_policy& names) {
    const counters_snapshot& c = s.counters;
    json_writer j;
    j.begin_object();
    j.key("generation").value(s.generation).key("packets").value(c.packets).key("bytes").value(c.bytes);
    j.key("accept").value(c.accepted).key("drop").value(c.dropped).key("would_drop").value(c.would_drop);
    j.key("bursts").value(c.bursts).key("recv_calls").value(c.recv_calls).key("send_calls").value(c.send_calls);
    j.key("enobufs").value(c.enobufs).key("parse_errors").value(c.parse_errors);
    // A failed verdict send keeps its verdicts and sends them again: failures, then resends.
    j.key("send_errors").value(c.send_errors).key("resent_verdicts").value(c.resent_verdicts);
    j.key("drop_log_overflow").value(c.drop_log_overflow);
    j.key("prefilter_dropped").value(s.prefilter_dropped);
    j.key("reloads").value(s.reloads).key("reload_failures").value(s.reload_failures);
    j.key("last_reload_ok").value(static_cast<std::uint64_t>(s.last_reload_success_unix));
    // Flow offload: flows handed to the kernel, and offloads revoked by reloads. Packets the
    // kernel carried alone are counted by the offload rules (iptables -nvxL PBXGATE-INPUT).
    j.key("offload").begin_object().key("accepts").value(c.offloaded_accepts).key("drops").value(c.offloaded_drops)
        .key("revoked").value(s.offloads_revoked).end_object();
    j.key("by_reason").begin_object();
    for (unsigned r = 0; r < reason_count; ++r)
        if (c.by_reason[r]) j.key(to_string(static_cast<reason>(r))).value(c.by_reason[r]);
    j.end_object();
    // by_service -> zone -> {accept, drop}: the policy's verdict, before monitor mode.
    j.key("by_service").begin_object();
    for (unsigned svc = 0; svc < 256; ++svc) {
        bool any = false;
        for (unsigned z = 0; z < zone_count; ++z) any = any || c.packets_by[svc][z][0] || c.packets_by[svc][z][1];
        if (!any) continue;
        j.key(service_label(names, svc)).begin_object();
        for (unsigned z = 0; z < zone_count; ++z) {
            const auto& cell = c.packets_by[svc][z];
            if (!cell[0] && !cell[1]) continue;
            j.key(to_string(static_cast<zone>(z))).begin_object().key("accept").value(cell[0]).key("drop").value(cell[1]).end_object();
        }
        j.end_object();
    }
    j.end_object();
    if (s.blocklists.present) {
        const blocklist_metrics& b = s.blocklists;
        j.key("blocklists").begin_object().key("loads").value(b.loads).key("load_errors").value(b.load_errors);
        j.key("last_load").value(static_cast<std::uint64_t>(b.last_load_unix)).key("files").begin_array();
        for (const blocklist_file_metrics& f : b.files)
            j.begin_object().key("file").value(f.path).key("entries").value(f.entries).key("malformed").value(f.malformed)
                .key("refused").value(f.refused).key("readable").value(f.readable).end_object();
        j.end_array().end_object();
    }
    j.key("queues").begin_array();
    for (const std::uint16_t q : s.queues) {
        j.begin_object().key("queue").value(std::uint64_t{q});
        if (const kernel_queue_stats* k = kernel_line(s, q)) {
            j.key("waiting").value(std::uint64_t{k->queue_total});
            j.key("kernel_queue_dropped").value(std::uint64_t{k->queue_dropped});
            j.key("kernel_user_dropped").value(std::uint64_t{k->user_dropped});
        }
        j.end_object();
    }
    j.end_array();
    j.end_object();
    return j.str();
}

}  // namespace pbxgate
