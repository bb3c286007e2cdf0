// Retry delays after a failed call to the local API: 1 s, doubling, capped; reset on success.
#pragma once

#include <algorithm>
#include <chrono>

namespace pbxgate::crowdsec {

class backoff {
public:
    explicit backoff(std::chrono::seconds cap = std::chrono::seconds(60)) : cap_(cap) {}
    // The delay before the next attempt, after one more failure.
    std::chrono::seconds next() noexcept {
        const std::chrono::seconds d = current_;
        current_ = std::min(cap_, current_ * 2);
        return d;
    }
    void reset() noexcept { current_ = std::chrono::seconds(1); }

private:
    std::chrono::seconds cap_;
    std::chrono::seconds current_{1};
};

}  // namespace pbxgate::crowdsec
