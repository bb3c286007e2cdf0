#include "reload/reload_status.hpp"

#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "util/atomic_file.hpp"

namespace pbxgate {
namespace {

const char* trigger_name(reload_trigger t) {
    switch (t) {
        case reload_trigger::start: return "start";
        case reload_trigger::signal: return "signal";
        case reload_trigger::file: return "file";
    }
    return "start";
}

template <typename T>
bool parse_number(const std::string& text, T& out) {
    const char* end = text.data() + text.size();
    const auto r = std::from_chars(text.data(), end, out);
    return r.ec == std::errc() && r.ptr == end;
}

// Keeps a value on one line, whatever a message holds.
std::string one_line(std::string s) {
    for (char& c : s)
        if (c == '\n' || c == '\r') c = ' ';
    return s;
}

}  // namespace

std::string format_reload_status(const reload_status& s) {
    std::ostringstream out;
    out << "pid " << s.pid << '\n'
        << "attempts " << s.attempts << '\n'
        << "signal_attempts " << s.signal_attempts << '\n'
        << "trigger " << trigger_name(s.trigger) << '\n'
        << "ok " << (s.ok ? 1 : 0) << '\n'
        << "generation " << s.generation << '\n'
        << "time " << s.time << '\n'
        << "summary " << one_line(s.summary) << '\n';
    for (const std::string& e : s.errors) out << "error " << one_line(e) << '\n';
    for (const std::string& k : s.kept) out << "kept " << one_line(k) << '\n';
    return out.str();
}

std::optional<reload_status> parse_reload_status(const std::string& text) {
    reload_status s;
    unsigned seen = 0;  // one bit per required key
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        const auto space = line.find(' ');
        const std::string key = line.substr(0, space);
        const std::string value = space == std::string::npos ? "" : line.substr(space + 1);
        bool good = true;
        if (key == "pid") good = parse_number(value, s.pid), seen |= 1;
        else if (key == "attempts") good = parse_number(value, s.attempts), seen |= 2;
        else if (key == "signal_attempts") good = parse_number(value, s.signal_attempts), seen |= 4;
        else if (key == "ok") good = value == "0" || value == "1", s.ok = value == "1", seen |= 8;
        else if (key == "generation") good = parse_number(value, s.generation), seen |= 16;
        else if (key == "time") good = parse_number(value, s.time);
        else if (key == "summary") s.summary = value;
        else if (key == "error") s.errors.push_back(value);
        else if (key == "kept") s.kept.push_back(value);
        else if (key == "trigger") {
            if (value == "start") s.trigger = reload_trigger::start;
            else if (value == "signal") s.trigger = reload_trigger::signal;
            else if (value == "file") s.trigger = reload_trigger::file;
            else good = false;
        }
        // Unknown keys are skipped: a newer engine may say more.
        if (!good) return std::nullopt;
    }
    if (seen != 31) return std::nullopt;
    return s;
}

std::string write_reload_status(const std::string& path, const reload_status& s) {
    return replace_file(path, format_reload_status(s));
}

std::optional<reload_status> read_reload_status(const std::string& path) {
    const auto text = read_small_file(path);
    if (!text) return std::nullopt;
    return parse_reload_status(*text);
}

std::string reload_status_path(const std::string& pid_file) {
    const std::string suffix = ".pid";
    if (pid_file.size() > suffix.size() && pid_file.compare(pid_file.size() - suffix.size(), suffix.size(), suffix) == 0)
        return pid_file.substr(0, pid_file.size() - suffix.size()) + ".reload-status";
    return pid_file + ".reload-status";
}

std::string default_pid_file() {
    if (geteuid() == 0) return "/run/pbxgate.pid";
    if (const char* runtime = std::getenv("XDG_RUNTIME_DIR"); runtime && *runtime)
        return std::string(runtime) + "/pbxgate.pid";
    return "/tmp/pbxgate-" + std::to_string(geteuid()) + ".pid";
}

}  // namespace pbxgate
