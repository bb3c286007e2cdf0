// Turning counters into what people and programs read: log lines and a JSON document.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "datapath/counters.hpp"
#include "pbxgate/compiled_policy.hpp"
#include "queue/kernel_queue_stats.hpp"

namespace pbxgate {

struct engine_status {
    counters_snapshot counters;
    std::uint64_t generation = 0;
    std::uint64_t reloads = 0;
    std::uint64_t reload_failures = 0;
    double last_reload_success_unix = 0;  // the last successful policy load, Unix seconds (the start counts)
    std::uint64_t offloads_revoked = 0;  // connection marks cleared by reloads (flow offload)
    std::vector<std::uint16_t> queues;
    std::vector<kernel_queue_stats> kernel;  // our queues' lines of /proc/net/netfilter/nfnetlink_queue
};

// Human lines (no trailing newlines), for the log at SIGUSR1, each interval and at exit.
std::vector<std::string> format_status_lines(const engine_status& s, const compiled_policy& names);
// One JSON object (the --stats-file format).
std::string format_status_json(const engine_status& s, const compiled_policy& names);

}  // namespace pbxgate
