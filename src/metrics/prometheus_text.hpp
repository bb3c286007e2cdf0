// The engine's counters in the Prometheus text exposition format (version 0.0.4).
// Pure: a snapshot in, text out, so the names and labels are unit-tested and linted.
#pragma once

#include <string>
#include <vector>

#include "metrics/stats_report.hpp"

namespace pbxgate {

struct metrics_snapshot {
    engine_status status;
    std::vector<std::string> service_names;    // index = service id; [0] names "no service"
    std::vector<double> heartbeat_age_seconds;  // one per status.queues entry, same order
    double start_time_unix = 0;
};

inline constexpr const char* prometheus_content_type = "text/plain; version=0.0.4; charset=utf-8";

// Every family has HELP and TYPE lines; every series of a family is emitted, zeros
// included, so rate() and absent() behave from the first scrape.
std::string format_prometheus(const metrics_snapshot& m);

}  // namespace pbxgate
