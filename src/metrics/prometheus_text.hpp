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

// The CrowdSec link ([crowdsec]): present only when the table is.
struct crowdsec_metrics {
    bool present = false;
    bool up = false;                   // the last call to the local API succeeded
    double last_pull_age_seconds = -1; // -1: no pull succeeded yet
    std::uint64_t decisions = 0;       // sources banned by CrowdSec decisions now
    std::uint64_t alerts_pushed = 0;
    std::uint64_t errors = 0;
    std::uint64_t evictions = 0;       // decisions evicted at the ban table's capacity
    std::uint64_t skipped = 0;         // decisions not applied: other type or scope, malformed, too broad
    std::uint64_t protected_zone = 0;  // sources not banned: trusted, lan or localhost
};

struct metrics_snapshot {
    engine_status status;
    std::vector<std::string> service_names;    // index = service id; [0] names "no service"
    std::vector<double> heartbeat_age_seconds;  // one per status.queues entry, same order
    double start_time_unix = 0;
    sip_metrics sip;
    crowdsec_metrics crowdsec;
};

inline constexpr const char* prometheus_content_type = "text/plain; version=0.0.4; charset=utf-8";

// Every family has HELP and TYPE lines; every series of a family is emitted, zeros
// included, so rate() and absent() behave from the first scrape.
std::string format_prometheus(const metrics_snapshot& m);

}  // namespace pbxgate
