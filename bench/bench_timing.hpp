// What the micro-benchmarks share: the best per-iteration thread CPU time over several passes
// (the best pass is the one least disturbed by other tenants of a shared machine).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "util/thread_clock.hpp"

namespace pbxgate::bench {

template <class F>
double best_ns(unsigned passes, std::uint64_t iters, F&& body) {
    std::vector<double> per;
    for (unsigned p = 0; p < passes; ++p) {
        const double start = thread_cpu_ns();
        for (std::uint64_t i = 0; i < iters; ++i) body(i);
        per.push_back((thread_cpu_ns() - start) / static_cast<double>(iters));
    }
    return *std::min_element(per.begin(), per.end());
}

}  // namespace pbxgate::bench
