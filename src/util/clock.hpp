// Wall and steady clock readings as plain numbers, for counters and files that other
// threads and processes read.
#pragma once

#include <chrono>
#include <cstdint>

namespace pbxgate {

// Nanoseconds on the steady clock: for ages and heartbeats, immune to clock changes.
inline std::uint64_t steady_ns() noexcept {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
            .count());
}

// Seconds since the Unix epoch (with fraction): timestamps people and Prometheus read.
inline double unix_now() noexcept {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Whole seconds since the Unix epoch: ban expiries, state files.
inline std::int64_t unix_seconds() noexcept {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace pbxgate
