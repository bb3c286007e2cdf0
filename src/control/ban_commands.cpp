#include "control/ban_commands.hpp"

#include "util/json_writer.hpp"

namespace pbxgate::control {
namespace {

constexpr const char* not_enabled = "SIP protection not enabled in this engine: there is no ban table";

// The `source` argument as a prefix, or why not.
std::optional<ip_prefix> source_arg(const request& req, std::string& why) {
    const json_value* s = req.args.find("source");
    if (s == nullptr || !s->is_string()) {
        why = "missing \"source\" (an address or PREFIX/LEN)";
        return std::nullopt;
    }
    std::string err;
    auto p = parse_prefix(s->as_string(), &err);
    if (!p) why = "source '" + s->as_string() + "': " + err;
    return p;
}

bool printable(const std::string& s) {
    for (const char c : s)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
    return true;
}

}  // namespace

void register_ban_commands(command_registry& registry, std::function<protect::ban_admin*()> table,
                           std::function<std::int64_t()> now) {
    registry.add("bans.list", "the bans in force", [table, now](const request&) {
        protect::ban_admin* t = table();
        if (t == nullptr) return reply::failure(not_enabled);
        json_writer w;
        w.begin_object().key("bans").begin_array();
        for (const protect::ban_view& b : t->list_bans(now())) {
            w.begin_object();
            w.key("source").value(to_string(b.source));
            w.key("reason").value(b.reason);
            w.key("since").value(static_cast<std::uint64_t>(b.since_unix > 0 ? b.since_unix : 0));
            w.key("expires");
            if (b.expires_unix > 0) w.value(static_cast<std::uint64_t>(b.expires_unix));
            else w.null();
            w.key("count").value(static_cast<std::uint64_t>(b.count));
            if (!b.origin.empty()) w.key("origin").value(b.origin);
            if (!b.scenario.empty()) w.key("scenario").value(b.scenario);
            w.end_object();
        }
        w.end_array().end_object();
        return reply::success(w.str());
    });

    registry.add("bans.add", "ban a source: source, duration_s (0: until removed), reason",
                 [table, now](const request& req) {
                     std::string why;
                     const auto source = source_arg(req, why);
                     if (!source) return reply::failure(why);
                     std::int64_t duration = 0;
                     if (const json_value* d = req.args.find("duration_s"); d != nullptr && !d->is_null()) {
                         const auto n = d->as_integer();
                         if (!n || *n < 0 || *n > max_ban_seconds)
                             return reply::failure("duration_s must be a whole number of seconds from 0 (until removed) to " +
                                                   std::to_string(max_ban_seconds));
                         duration = *n;
                     }
                     std::string reason = "manual";
                     if (const json_value* r = req.args.find("reason"); r != nullptr && !r->is_null()) {
                         if (!r->is_string() || r->as_string().empty() || r->as_string().size() > max_reason_bytes ||
                             !printable(r->as_string()))
                             return reply::failure("reason must be a text of 1 to " + std::to_string(max_reason_bytes) +
                                                   " printable characters");
                         reason = r->as_string();
                     }
                     protect::ban_admin* t = table();
                     if (t == nullptr) return reply::failure(not_enabled);
                     if (std::string err = t->add_ban(*source, duration, reason, now()); !err.empty())
                         return reply::failure(err);
                     json_writer w;
                     w.begin_object().key("source").value(to_string(*source)).end_object();
                     return reply::success(w.str());
                 });

    registry.add("bans.remove", "lift the ban of a source", [table](const request& req) {
        std::string why;
        const auto source = source_arg(req, why);
        if (!source) return reply::failure(why);
        protect::ban_admin* t = table();
        if (t == nullptr) return reply::failure(not_enabled);
        if (!t->remove_ban(*source)) return reply::failure(to_string(*source) + " is not banned");
        return reply::success("{\"removed\":true}");
    });

    registry.add("bans.flush", "lift every ban", [table](const request&) {
        protect::ban_admin* t = table();
        if (t == nullptr) return reply::failure(not_enabled);
        json_writer w;
        w.begin_object().key("removed").value(static_cast<std::uint64_t>(t->flush_bans())).end_object();
        return reply::success(w.str());
    });
}

}  // namespace pbxgate::control
