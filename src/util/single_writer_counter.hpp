// A counter with one writer (a worker's own block) and any number of readers: a relaxed
// load and store, no locked read-modify-write; a reader's sum may be a few counts behind,
// never torn.
#pragma once

#include <atomic>
#include <cstdint>

namespace pbxgate {

using counter = std::atomic<std::uint64_t>;

inline void bump(counter& c, std::uint64_t n = 1) noexcept {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

}  // namespace pbxgate
