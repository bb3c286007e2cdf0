// Durations as an admin types and reads them: "30s", "10m", "1h", "7d" (a bare number is
// seconds).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pbxgate::control {

// Seconds, or nullopt (with why in `error`) for anything else: no unit we know, no number,
// zero or negative, or more than ten years.
std::optional<std::int64_t> parse_duration(std::string_view text, std::string* error = nullptr);

// 90061 -> "1d1h1m1s"; 0 -> "0s".
std::string format_duration(std::int64_t seconds);

}  // namespace pbxgate::control
