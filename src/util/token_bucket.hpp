// A rate limit of so many events per second (log lines): the budget is refilled whole once
// a second, so a burst may spend a second's worth at once. Counts what it refuses, so the
// caller can say how much was suppressed. Single-threaded.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <utility>

namespace pbxgate {

class token_bucket {
public:
    using clock = std::chrono::steady_clock;

    token_bucket() noexcept = default;
    explicit token_bucket(std::uint32_t per_second) noexcept : per_second_(per_second), tokens_(per_second) {}

    // A lower rate takes effect at once, not at the next refill.
    void set_rate(std::uint32_t per_second) noexcept {
        per_second_ = per_second;
        tokens_ = std::min(tokens_, per_second);
    }

    bool take(clock::time_point now) noexcept {
        if (now - refilled_ >= std::chrono::seconds(1)) {
            tokens_ = per_second_;
            refilled_ = now;
        }
        if (tokens_ == 0) {
            ++suppressed_;
            return false;
        }
        --tokens_;
        return true;
    }

    // Events refused since the last call.
    std::uint64_t take_suppressed() noexcept { return std::exchange(suppressed_, 0); }

private:
    std::uint32_t per_second_ = 0;
    std::uint32_t tokens_ = 0;
    std::uint64_t suppressed_ = 0;
    clock::time_point refilled_{};
};

}  // namespace pbxgate
