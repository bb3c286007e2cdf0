// The engine's counters in the Prometheus text exposition format (version 0.0.4).
// Pure: a snapshot in, text out, so the names and labels are unit-tested and linted.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "metrics/stats_report.hpp"

namespace pbxgate {

// SIP protection, summed over the workers, plus the source table's gauges.
struct sip_metrics {
    bool present = false;  // the engine runs SIP protection
    std::array<std::array<std::uint64_t, 5>, 15> requests{};  // [sip::method][zone]
    std::array<std::uint64_t, 7> responses{};                 // [status class 1..6]
    std::array<std::uint64_t, 6> bans{};                      // [protect::ban_reason]
    std::uint64_t malformed = 0, connection_attempts = 0, retransmissions = 0, keepalives = 0;
    std::uint64_t banned = 0, registered = 0, known = 0, tracked = 0, evictions = 0, untracked = 0;
};

struct metrics_snapshot {
    engine_status status;
    std::vector<std::string> service_names;    // index = service id; [0] names "no service"
    std::vector<double> heartbeat_age_seconds;  // one per status.queues entry, same order
    double start_time_unix = 0;
    sip_metrics sip;
};

inline constexpr const char* prometheus_content_type = "text/plain; version=0.0.4; charset=utf-8";

// Every family has HELP and TYPE lines; every series of a family is emitted, zeros
// included, so rate() and absent() behave from the first scrape.
std::string format_prometheus(const metrics_snapshot& m);

}  // namespace pbxgate
