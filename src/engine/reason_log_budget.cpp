#include "engine/reason_log_budget.hpp"

namespace pbxgate {

void reason_log_budget::set_limits(const std::vector<std::pair<reason, std::uint32_t>>& limits) noexcept {
    limited_.fill(false);
    for (const auto& [why, per_second] : limits) {
        limited_[static_cast<unsigned>(why)] = true;
        buckets_[static_cast<unsigned>(why)].set_rate(per_second);
    }
}

bool reason_log_budget::take(reason why, clock::time_point now) noexcept {
    const auto i = static_cast<unsigned>(why);
    return !limited_[i] || buckets_[i].take(now);
}

std::uint64_t reason_log_budget::take_suppressed() noexcept {
    std::uint64_t n = 0;
    for (token_bucket& b : buckets_) n += b.take_suppressed();
    return n;
}

}  // namespace pbxgate
