// The calling thread's CPU time: what benchmarks and `replay` time loops with, so time
// spent descheduled on a shared machine is not counted.
#pragma once

#include <time.h>

namespace pbxgate {

inline double thread_cpu_ns() noexcept {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

}  // namespace pbxgate
