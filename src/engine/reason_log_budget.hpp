// Per-reason rate limits of drop log lines ([engine] drop_log_per_reason), applied before
// the global drop_log_per_second budget so a flood of one reason (a scanner's
// zone_not_allowed) cannot use up the lines every other reason needs. Main thread only.
#pragma once

#include <array>
#include <cstdint>
#include <utility>
#include <vector>

#include "pbxgate/verdict.hpp"
#include "util/token_bucket.hpp"

namespace pbxgate {

class reason_log_budget {
public:
    using clock = token_bucket::clock;

    // Reasons not listed are unlimited here (the global budget still applies).
    void set_limits(const std::vector<std::pair<reason, std::uint32_t>>& limits) noexcept;
    // True when a line for `why` may be written now; false counts it as suppressed.
    bool take(reason why, clock::time_point now) noexcept;
    std::uint64_t take_suppressed() noexcept;

private:
    std::array<bool, reason_count> limited_{};
    std::array<token_bucket, reason_count> buckets_{};
};

}  // namespace pbxgate
