// pbxgate explain --media: the media pinholes of a running engine, asked over its control
// socket (media.pinholes). Text (one row per pinhole) or the engine's JSON as it is.
#include <cstdio>
#include <string>

#include "cli/commands.hpp"
#include "control/control_client.hpp"
#include "util/json_value.hpp"
#include "util/json_writer.hpp"

namespace pbxgate::cli {
namespace {


std::int64_t number(const json_value& row, const char* key) {
    const json_value* v = row.find(key);
    return v ? v->as_integer().value_or(-1) : -1;
}
std::string text(const json_value& row, const char* key) {
    const json_value* v = row.find(key);
    return v && v->is_string() ? v->as_string() : "";
}

}  // namespace

int run_explain_media(const std::string& runtime_dir, bool json) {
    json_writer w;
    w.begin_object().key("command").value("media.pinholes").end_object();
    const control::call_result r = control::call(runtime_dir, w.str());
    if (r.status != control::call_status::answered) {
        std::fprintf(stderr, "pbxgate explain --media: %s\n", r.error.c_str());
        return r.status == control::call_status::no_engine ? exit_no_engine : exit_failure;
    }
    const json_parse_result parsed = parse_json(r.answer);
    const json_value* ok = parsed.value ? parsed.value->find("ok") : nullptr;
    if (ok == nullptr || !ok->is_bool() || !ok->as_bool()) {
        const json_value* e = parsed.value ? parsed.value->find("error") : nullptr;
        std::fprintf(stderr, "pbxgate explain --media: %s\n",
                     e && e->is_string() ? e->as_string().c_str() : ("unreadable answer: " + r.answer).c_str());
        return exit_failure;
    }
    const json_value* result = parsed.value->find("result");
    if (json) {
        // The engine's object as it is: {"now","grace_s","idle_s","capacity","counts","pinholes":[...]}.
        const std::string key = "\"result\":";
        const std::size_t at = r.answer.find(key);
        std::printf("%s\n", at == std::string::npos ? "{}" : r.answer.substr(at + key.size(), r.answer.size() - at - key.size() - 1).c_str());
        return exit_ok;
    }
    if (result == nullptr) return exit_failure;
    const json_value* counts = result->find("counts");
    const json_value* rows = result->find("pinholes");
    std::printf("media pinholes: %lld open (capacity %lld), %lld dialogs; grace %lld s, idle %lld s\n",
                static_cast<long long>(counts ? number(*counts, "pinholes") : 0),
                static_cast<long long>(number(*result, "capacity")),
                static_cast<long long>(counts ? number(*counts, "dialogs") : 0),
                static_cast<long long>(number(*result, "grace_s")), static_cast<long long>(number(*result, "idle_s")));
    if (rows == nullptr || rows->items().empty()) return exit_ok;
    std::printf("%-6s %-40s %-16s %-6s %6s %6s %-9s %s\n", "PORT", "REMOTE", "ORIGIN", "MEDIA", "AGE", "IDLE", "STATE",
                "CALL-ID");
    for (const json_value& row : rows->items()) {
        const std::int64_t closes = number(row, "closes_in_s");
        const json_value* off = row.find("offloaded");
        const bool offloaded = off && off->is_bool() && off->as_bool();
        const std::string state = closes >= 0 ? "closing " + std::to_string(closes) + "s"
                                              : (offloaded ? "offloaded" : "open");
        const std::int64_t port = number(row, "port");
        std::printf("%-6s %-40s %-16s %-6s %6lld %6lld %-9s %s\n", port == 0 ? "any" : std::to_string(port).c_str(),
                    text(row, "remote").c_str(), text(row, "origin").c_str(), text(row, "media").c_str(),
                    static_cast<long long>(number(row, "age_s")), static_cast<long long>(number(row, "idle_s")),
                    state.c_str(), text(row, "call_id").c_str());
    }
    return exit_ok;
}

}  // namespace pbxgate::cli
