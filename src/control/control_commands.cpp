#include "control/control_commands.hpp"

#include <stdexcept>

#include "util/json_writer.hpp"

namespace pbxgate::control {

void command_registry::add(std::string name, std::string summary, handler h) {
    if (!commands_.emplace(std::move(name), entry{std::move(summary), std::move(h)}).second)
        throw std::logic_error("control command registered twice");
}

std::string error_line(std::string_view why) {
    std::string out = "{\"ok\":false,\"error\":";
    append_json_string(out, why);
    out += '}';
    return out;
}

std::string command_registry::answer(std::string_view line) const {
    if (line.size() > max_request_bytes)
        return error_line("request too long (at most " + std::to_string(max_request_bytes) + " bytes)");
    const json_parse_result parsed = parse_json(line);
    if (!parsed.value) return error_line("malformed request: not JSON (" + parsed.error + ")");
    const json_value& req = *parsed.value;
    if (!req.is_object()) return error_line("malformed request: expected a JSON object");
    const json_value* name = req.find("command");
    if (name == nullptr || !name->is_string())
        return error_line("malformed request: no \"command\" string");
    const auto it = commands_.find(name->as_string());
    if (it == commands_.end()) {
        std::string known;
        for (const auto& [n, e] : commands_) known += (known.empty() ? "" : ", ") + n;
        return error_line("unknown command '" + name->as_string() + "' (known: " + known + ")");
    }
    reply r;
    try {
        r = it->second.run(request{name->as_string(), req});
    } catch (const std::exception& ex) {
        return error_line(std::string("command failed: ") + ex.what());
    }
    if (!r.error.empty()) return error_line(r.error);
    return "{\"ok\":true,\"result\":" + r.result_json + "}";
}

}  // namespace pbxgate::control
