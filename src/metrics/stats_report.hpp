// Turning counters into what people and programs read: log lines and a JSON document.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "datapath/counters.hpp"
#include "pbxgate/compiled_policy.hpp"
#include "queue/kernel_queue_stats.hpp"

namespace pbxgate {

// The [blocklists] files as last loaded (blocklist/blocklist_loader.hpp).
struct blocklist_file_metrics {
    std::string path;
    std::uint64_t entries = 0;    // in force
    std::uint64_t malformed = 0;  // lines skipped at the last read
    std::uint64_t refused = 0;    // entries beyond max_entries at the last read
    bool readable = true;
};
struct blocklist_metrics {
    bool present = false;  // filled by an engine (absent from the status of other tools)
    std::vector<blocklist_file_metrics> files;
    std::uint64_t loads = 0;
    std::uint64_t load_errors = 0;    // malformed lines and unreadable files, summed over every load
    double last_load_unix = 0;        // the last load (successful or not), Unix seconds
    double last_load_seconds = 0;     // how long it took (read, parse, build, publish)
};

struct engine_status {
    counters_snapshot counters;
    std::uint64_t generation = 0;
    std::uint64_t reloads = 0;
    std::uint64_t reload_failures = 0;
    double last_reload_success_unix = 0;  // the last successful policy load, Unix seconds (the start counts)
    std::uint64_t offloads_revoked = 0;  // connection marks cleared by reloads (flow offload)
    std::vector<std::uint16_t> queues;
    std::vector<kernel_queue_stats> kernel;  // our queues' lines of /proc/net/netfilter/nfnetlink_queue
    // Packets the kernel pre-filter sets (blocked zone, bans) dropped before the queue; already
    // folded into counters by add_prefilter_drops.
    std::uint64_t prefilter_dropped = 0;
    blocklist_metrics blocklists;
};

// The pre-filter's drops count as if the engine had judged them: packets and bytes, a drop
// of reason blocked, from the blocked zone, no service. So every total still adds up.
void add_prefilter_drops(engine_status& s, std::uint64_t packets, std::uint64_t bytes) noexcept;

// Human lines (no trailing newlines), for the log at SIGUSR1, each interval and at exit.
std::vector<std::string> format_status_lines(const engine_status& s, const compiled_policy& names);
// One JSON object (the --stats-file format).
std::string format_status_json(const engine_status& s, const compiled_policy& names);

}  // namespace pbxgate
