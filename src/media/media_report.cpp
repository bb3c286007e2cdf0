#include "media/media_report.hpp"

#include "util/json_writer.hpp"

namespace pbxgate::media {

std::string no_pinhole_note(const pinhole_table& table, std::uint16_t port, const ip_address& src, seconds_t now,
                            const timeouts& t) {
    const auto near = table.nearest(port, now, t);
    if (!near) return "no pinhole on port " + std::to_string(port);
    std::string note = "from " + to_string(src.unmapped()) + ", expected " + to_string(near->remote);
    note += near->call_id.empty() ? std::string(" (TLS/WSS signalling peer)") : " for the call Call-ID " + near->call_id;
    return note;
}

std::string pinholes_json(const pinhole_table& table, seconds_t now, const timeouts& t) {
    json_writer w;
    const table_counts c = table.counts(now, t);
    w.begin_object();
    w.key("now").value(static_cast<std::uint64_t>(now));
    w.key("grace_s").value(static_cast<std::uint64_t>(t.grace));
    w.key("idle_s").value(static_cast<std::uint64_t>(t.idle));
    w.key("capacity").value(static_cast<std::uint64_t>(table.slot_count() / 2));
    w.key("counts").begin_object();
    w.key("pinholes").value(c.pinholes);
    w.key("dialogs").value(c.dialogs);
    w.key("opened").value(c.opened);
    w.key("closed").value(c.closed);
    w.key("full").value(c.full);
    w.end_object();
    w.key("pinholes").begin_array();
    for (const pinhole_info& p : table.list(now, t)) {
        w.begin_object();
        w.key("port").value(static_cast<std::uint64_t>(p.port));
        w.key("remote").value(to_string(p.remote));
        w.key("origin").value(std::string(to_string(p.from)));
        w.key("media").value(std::string(sip::to_string(p.kind)));
        w.key("call_id").value(p.call_id);
        w.key("age_s").value(static_cast<std::uint64_t>(now >= p.created ? now - p.created : 0));
        w.key("idle_s").value(static_cast<std::uint64_t>(now >= p.last_seen ? now - p.last_seen : 0));
        w.key("offloaded").value(p.offloaded);
        w.key("closes_in_s");
        if (p.close_at != 0) w.value(static_cast<std::uint64_t>(p.close_at > now ? p.close_at - now : 0));
        else w.null();
        w.end_object();
    }
    w.end_array();
    w.end_object();
    return w.str();
}

}  // namespace pbxgate::media
