#include "reload/policy_slot.hpp"

#include <urcu-qsbr.h>

// ThreadSanitizer cannot see liburcu's grace periods (the library is not instrumented), so
// it would report the writer's delete of an old policy as racing with the readers' earlier
// reads of it. Tell it what RCU guarantees: everything a reader did before its quiescent
// state (or going offline, or unregistering) happens before the end of a grace period.
// Outside TSan builds these compile to nothing.
#if defined(__SANITIZE_THREAD__)
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
namespace {
char grace_period_sync;
}
#define PBXGATE_READER_QUIESCENT() __tsan_release(&grace_period_sync)
#define PBXGATE_GRACE_PERIOD_ENDED() __tsan_acquire(&grace_period_sync)
#else
#define PBXGATE_READER_QUIESCENT() static_cast<void>(0)
#define PBXGATE_GRACE_PERIOD_ENDED() static_cast<void>(0)
#endif

namespace pbxgate {

policy_slot::policy_slot(std::unique_ptr<const compiled_policy> initial)
    : current_(new published_policy{1, std::move(initial)}) {}

policy_slot::~policy_slot() {
    urcu_qsbr_synchronize_rcu();
    PBXGATE_GRACE_PERIOD_ENDED();
    delete current_.load(std::memory_order_acquire);
}

std::uint64_t policy_slot::publish(std::unique_ptr<const compiled_policy> next) {
    std::lock_guard<std::mutex> lock(publish_mutex_);
    const published_policy* old = current_.load(std::memory_order_acquire);
    const std::uint64_t generation = old->generation + 1;
    current_.store(new published_policy{generation, std::move(next)}, std::memory_order_release);
    // Every reader that could have loaded `old` passes a quiescent state before this returns.
    urcu_qsbr_synchronize_rcu();
    PBXGATE_GRACE_PERIOD_ENDED();
    delete old;
    return generation;
}

void rcu_synchronize() noexcept {
    urcu_qsbr_synchronize_rcu();
    PBXGATE_GRACE_PERIOD_ENDED();
}

qsbr_reader::qsbr_reader() noexcept { urcu_qsbr_register_thread(); }
qsbr_reader::~qsbr_reader() {
    PBXGATE_READER_QUIESCENT();
    urcu_qsbr_unregister_thread();
}
void qsbr_reader::quiescent() noexcept {
    PBXGATE_READER_QUIESCENT();
    urcu_qsbr_quiescent_state();
}
void qsbr_reader::offline() noexcept {
    PBXGATE_READER_QUIESCENT();
    urcu_qsbr_thread_offline();
}
void qsbr_reader::online() noexcept { urcu_qsbr_thread_online(); }

}  // namespace pbxgate
