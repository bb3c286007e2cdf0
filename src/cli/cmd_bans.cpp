// pbxgate bans: the running engine's SIP bans, through its control socket.
//   list [--json]                      table (or JSON rows: source, reason, since, expires, count,
//                                      and origin, scenario for a CrowdSec ban)
//   add ADDR[/LEN] [--for D] [--reason TEXT]   D like 30s, 10m, 1h, 7d; without --for: until removed
//   remove ADDR[/LEN]
//   flush
// Exit: 0 done, 1 the engine refused (not banned, SIP protection off...) or did not answer,
// 2 wrong arguments, 3 no engine running.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <ctime>

#include "cli/commands.hpp"
#include "control/control_client.hpp"
#include "control/duration_text.hpp"
#include "pbxgate/address.hpp"
#include "util/json_value.hpp"
#include "util/json_writer.hpp"

namespace pbxgate::cli {
namespace {


struct bans_cli {
    std::string runtime_dir = "/run/pbxgate";
    bool json = false;
    std::string source;
    std::string duration;
    std::string reason;
};

// Sends one request; on success prints nothing and gives the "result" object.
std::optional<json_value> ask(const bans_cli& c, const std::string& request, int& code) {
    const control::call_result r = control::call(c.runtime_dir, request);
    if (r.status != control::call_status::answered) {
        std::fprintf(stderr, "pbxgate bans: %s\n", r.error.c_str());
        code = r.status == control::call_status::no_engine ? exit_no_engine : exit_failure;
        return std::nullopt;
    }
    json_parse_result parsed = parse_json(r.answer);
    const json_value* ok = parsed.value ? parsed.value->find("ok") : nullptr;
    if (ok == nullptr || !ok->is_bool()) {
        std::fprintf(stderr, "pbxgate bans: unreadable answer from the engine: %s\n", r.answer.c_str());
        code = exit_failure;
        return std::nullopt;
    }
    if (!ok->as_bool()) {
        const json_value* e = parsed.value->find("error");
        std::fprintf(stderr, "pbxgate bans: %s\n", e && e->is_string() ? e->as_string().c_str() : "the engine refused");
        code = exit_failure;
        return std::nullopt;
    }
    const json_value* result = parsed.value->find("result");
    code = exit_ok;
    return result ? *result : json_value{};
}

std::string request_of(const std::string& command) {
    json_writer w;
    w.begin_object().key("command").value(command).end_object();
    return w.str();
}

std::int64_t field_int(const json_value& row, const char* key) {
    const json_value* v = row.find(key);
    return v ? v->as_integer().value_or(0) : 0;
}
std::string field_str(const json_value& row, const char* key) {
    const json_value* v = row.find(key);
    return v && v->is_string() ? v->as_string() : "";
}

std::string utc_time(std::int64_t t) {
    const std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%SZ", &tm);
    return buf;
}

int list(const bans_cli& c) {
    int code = exit_ok;
    const auto result = ask(c, request_of("bans.list"), code);
    if (!result) return code;
    const json_value* bans = result->find("bans");
    if (bans == nullptr || !bans->is_array()) {
        std::fprintf(stderr, "pbxgate bans: the engine's answer has no ban list\n");
        return exit_failure;
    }
    if (c.json) {
        json_writer w;
        w.begin_array();
        for (const json_value& b : bans->items()) {
            w.begin_object();
            w.key("source").value(field_str(b, "source"));
            w.key("reason").value(field_str(b, "reason"));
            w.key("since").value(static_cast<std::uint64_t>(field_int(b, "since")));
            w.key("expires");
            if (const std::int64_t e = field_int(b, "expires"); e > 0) w.value(static_cast<std::uint64_t>(e));
            else w.null();
            w.key("count").value(static_cast<std::uint64_t>(field_int(b, "count")));
            // A CrowdSec ban: where the decision came from.
            if (const std::string o = field_str(b, "origin"); !o.empty()) w.key("origin").value(o);
            if (const std::string sc = field_str(b, "scenario"); !sc.empty()) w.key("scenario").value(sc);
            w.end_object();
        }
        w.end_array();
        std::printf("%s\n", w.str().c_str());
        return exit_ok;
    }
    const std::int64_t now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    std::printf("%-43s %-14s %-21s %-14s %s\n", "SOURCE", "REASON", "SINCE", "EXPIRES IN", "COUNT");
    for (const json_value& b : bans->items()) {
        const std::int64_t expires = field_int(b, "expires");
        const std::string left = expires > 0 ? control::format_duration(expires - now) : "until removed";
        std::string from;  // a CrowdSec ban: origin and scenario
        if (const std::string o = field_str(b, "origin"); !o.empty()) from += "  " + o;
        if (const std::string sc = field_str(b, "scenario"); !sc.empty()) from += " " + sc;
        std::printf("%-43s %-14s %-21s %-14s %lld%s\n", field_str(b, "source").c_str(), field_str(b, "reason").c_str(),
                    utc_time(field_int(b, "since")).c_str(), left.c_str(),
                    static_cast<long long>(field_int(b, "count")), from.c_str());
    }
    std::printf("%zu ban(s)\n", bans->items().size());
    return exit_ok;
}

// The source as the engine will see it, checked here first for a clear usage error.
bool check_source(const std::string& text) {
    std::string why;
    if (parse_prefix(text, &why)) return true;
    std::fprintf(stderr, "pbxgate bans: %s: %s\n", text.c_str(), why.c_str());
    return false;
}

int add(const bans_cli& c) {
    if (!check_source(c.source)) return exit_usage;
    std::int64_t duration = 0;
    if (!c.duration.empty()) {
        std::string why;
        const auto d = control::parse_duration(c.duration, &why);
        if (!d) {
            std::fprintf(stderr, "pbxgate bans add: --for %s\n", why.c_str());
            return exit_usage;
        }
        duration = *d;
    }
    json_writer w;
    w.begin_object().key("command").value("bans.add").key("source").value(c.source);
    w.key("duration_s").value(static_cast<std::uint64_t>(duration));
    if (!c.reason.empty()) w.key("reason").value(c.reason);
    w.end_object();
    int code = exit_ok;
    const auto result = ask(c, w.str(), code);
    if (!result) return code;
    std::printf("banned %s %s\n", field_str(*result, "source").c_str(),
                duration > 0 ? ("for " + control::format_duration(duration)).c_str() : "until removed");
    return exit_ok;
}

int remove(const bans_cli& c) {
    if (!check_source(c.source)) return exit_usage;
    json_writer w;
    w.begin_object().key("command").value("bans.remove").key("source").value(c.source).end_object();
    int code = exit_ok;
    if (!ask(c, w.str(), code)) return code;
    std::printf("removed the ban of %s\n", c.source.c_str());
    return exit_ok;
}

int flush(const bans_cli& c) {
    int code = exit_ok;
    const auto result = ask(c, request_of("bans.flush"), code);
    if (!result) return code;
    std::printf("removed %lld ban(s)\n", static_cast<long long>(field_int(*result, "removed")));
    return exit_ok;
}

}  // namespace

void register_bans_command(CLI::App& app, int& exit_code) {
    auto* cmd = app.add_subcommand("bans", "list, add or lift the running engine's SIP bans (root; its control socket)");
    cmd->require_subcommand(1);
    auto c = std::make_shared<bans_cli>();
    cmd->add_option("--runtime-dir", c->runtime_dir, "the engine's --runtime-dir (its control socket is DIR/control.sock)")
        ->capture_default_str();

    auto* l = cmd->add_subcommand("list", "the bans in force: a table, or JSON rows with --json");
    l->add_flag("--json", c->json,
                "JSON rows: source, reason, since, expires (Unix seconds; null: until removed), count; origin and "
                "scenario for a CrowdSec ban");
    l->callback([c, &exit_code] { exit_code = list(*c); });

    auto* a = cmd->add_subcommand("add", "ban a source (address or PREFIX/LEN)");
    a->add_option("source", c->source, "ADDR or ADDR/LEN")->required();
    a->add_option("--for", c->duration, "how long: 30s, 10m, 1h, 7d (default: until removed)");
    a->add_option("--reason", c->reason, "why (default: manual)");
    a->callback([c, &exit_code] { exit_code = add(*c); });

    auto* r = cmd->add_subcommand("remove", "lift the ban of a source");
    r->add_option("source", c->source, "ADDR or ADDR/LEN, as listed")->required();
    r->callback([c, &exit_code] { exit_code = remove(*c); });

    auto* f = cmd->add_subcommand("flush", "lift every ban");
    f->callback([c, &exit_code] { exit_code = flush(*c); });
}

}  // namespace pbxgate::cli
