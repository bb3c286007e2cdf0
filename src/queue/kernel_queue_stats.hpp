// The kernel's per-queue counters from /proc/net/netfilter/nfnetlink_queue: the only place
// that reports packets the kernel dropped because the queue was full (queue_dropped) or
// because the socket buffer overran (user_dropped).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pbxgate {

struct kernel_queue_stats {
    std::uint32_t queue_num = 0;
    std::uint32_t portid = 0;        // netlink port id of the bound socket
    std::uint32_t queue_total = 0;   // packets queued now, waiting for a verdict
    std::uint32_t copy_mode = 0;     // NFQNL_COPY_*
    std::uint32_t copy_range = 0;
    std::uint32_t queue_dropped = 0; // dropped: queue longer than its maxlen
    std::uint32_t user_dropped = 0;  // dropped: netlink unicast failed (socket buffer full)
    std::uint32_t id_sequence = 0;   // last packet id handed out
};

inline constexpr std::string_view kernel_queue_stats_path = "/proc/net/netfilter/nfnetlink_queue";

// One line: "queue portid total mode range qdropped udropped idseq 1". Returns nullopt on
// anything that is not eight unsigned numbers (a ninth field, always 1, is allowed).
std::optional<kernel_queue_stats> parse_kernel_queue_line(std::string_view line) noexcept;

// Reads every queue's line. Returns nullopt (and sets *error) when the file cannot be read,
// e.g. nfnetlink_queue is not loaded yet; malformed lines are skipped.
std::optional<std::vector<kernel_queue_stats>> read_kernel_queue_stats(
    const std::string& path = std::string(kernel_queue_stats_path), std::string* error = nullptr);

}  // namespace pbxgate
