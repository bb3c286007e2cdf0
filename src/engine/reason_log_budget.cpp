#include "engine/reason_log_budget.hpp"

#include <algorithm>

namespace pbxgate {

void reason_log_budget::set_limits(const std::vector<std::pair<reason, std::uint32_t>>& limits) noexcept {
    for (bucket& b : buckets_) b.limited = false;
    for (const auto& [why, per_second] : limits) {
        bucket& b = buckets_[static_cast<unsigned>(why)];
        b.limited = true;
        b.per_second = per_second;
        b.tokens = std::min(b.tokens, per_second);
    }
}

bool reason_log_budget::take(reason why, clock::time_point now) noexcept {
    bucket& b = buckets_[static_cast<unsigned>(why)];
    if (!b.limited) return true;
    if (now - b.refilled >= std::chrono::seconds(1)) {
        b.tokens = b.per_second;
        b.refilled = now;
    }
    if (b.tokens == 0) {
        ++suppressed_;
        return false;
    }
    --b.tokens;
    return true;
}

std::uint64_t reason_log_budget::take_suppressed() noexcept {
    const std::uint64_t n = suppressed_;
    suppressed_ = 0;
    return n;
}

}  // namespace pbxgate
