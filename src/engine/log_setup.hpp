// Where and how the engine logs: stderr (journald collects it under systemd), as text or
// as one JSON object per line (log_format = "json") for log shippers.
#pragma once

#include <memory>
#include <string>

#include <spdlog/formatter.h>

namespace pbxgate {

// format: "text" or "json"; level: spdlog's names (trace ... off). Safe to call again on
// reload: it replaces the default logger's formatter and level.
void configure_logging(const std::string& format, const std::string& level);

// The formatter configure_logging installs (exposed so tests can format into a buffer).
std::unique_ptr<spdlog::formatter> make_log_formatter(const std::string& format);

}  // namespace pbxgate
