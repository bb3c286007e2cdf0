// The control socket's protocol and its command registry.
//
// One request per line, one answer per line, both JSON objects:
//   -> {"command":"bans.add","source":"203.0.113.5","duration_s":3600,"reason":"manual"}
//   <- {"ok":true,"result":{...}}          or  {"ok":false,"error":"what went wrong"}
// Commands register by name (bans.list, bans.add, ...), so another part of the engine adds
// its own without touching the socket code. Handlers run on the engine's main thread.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "util/json_value.hpp"

namespace pbxgate::control {

// A request longer than this (without its newline) is refused unread.
inline constexpr std::size_t max_request_bytes = 16 * 1024;

// What a handler answers: an error an admin can act on, or the result, a JSON value
// written by the handler (json_writer), placed under "result".
struct reply {
    std::string error;
    std::string result_json = "{}";

    static reply failure(std::string why) { return {std::move(why), {}}; }
    static reply success(std::string json) { return {{}, std::move(json)}; }
};

// The request object; `args.find("name")` gives an argument.
struct request {
    std::string command;
    const json_value& args;
};

using handler = std::function<reply(const request&)>;

class command_registry {
public:
    // Throws std::logic_error when `name` is already taken (a programming error).
    void add(std::string name, std::string summary, handler h);
    bool has(std::string_view name) const { return commands_.find(name) != commands_.end(); }

    // One request line (without its newline) -> one answer line (without its newline).
    // Never throws: a handler's exception becomes an error answer.
    std::string answer(std::string_view line) const;

private:
    struct entry {
        std::string summary;
        handler run;
    };
    std::map<std::string, entry, std::less<>> commands_;
};

// The answer line for an error, e.g. for a request that was too long to read.
std::string error_line(std::string_view why);

}  // namespace pbxgate::control
