// What the micro-benchmarks share: the best per-iteration thread CPU time over several passes
// (the best pass is the one least disturbed by other tenants of a shared machine).
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "util/thread_clock.hpp"

namespace pbxgate::bench {

struct pass_times {
    double best = 0;    // ns per iteration of the fastest pass
    double median = 0;  // ... of the median pass
};

// Many short passes find undisturbed windows on a shared machine better than a few long ones;
// the median says how much the other tenants cost.
template <class F>
pass_times time_passes(unsigned passes, std::uint64_t iters, F&& body) {
    std::vector<double> per;
    for (unsigned p = 0; p < passes; ++p) {
        const double start = thread_cpu_ns();
        for (std::uint64_t i = 0; i < iters; ++i) body(i);
        per.push_back((thread_cpu_ns() - start) / static_cast<double>(iters));
    }
    std::sort(per.begin(), per.end());
    return {per.front(), per[per.size() / 2]};
}

template <class F>
double best_ns(unsigned passes, std::uint64_t iters, F&& body) {
    return time_passes(passes, iters, std::forward<F>(body)).best;
}

}  // namespace pbxgate::bench
