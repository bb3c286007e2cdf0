// The client side of the control socket (`pbxgate bans`, and later other commands): send
// one request line, read one answer line, within a deadline.
#pragma once

#include <chrono>
#include <string>

namespace pbxgate::control {

enum class call_status : unsigned char {
    answered,   // `answer` holds the engine's line (which may itself be an error answer)
    no_engine,  // no socket, or no one listening on it
    failed,     // permission denied, timeout, connection lost: `error` says which
};

struct call_result {
    call_status status = call_status::failed;
    std::string answer;
    std::string error;
};

// Answers longer than this are refused (a ban list of 262,144 rows fits).
inline constexpr std::size_t max_answer_bytes = 256u * 1024 * 1024;

call_result call(const std::string& runtime_dir, const std::string& request_line,
                 std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

}  // namespace pbxgate::control
