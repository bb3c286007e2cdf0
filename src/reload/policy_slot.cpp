#include "reload/policy_slot.hpp"

#include <urcu-qsbr.h>

namespace pbxgate {

policy_slot::policy_slot(std::unique_ptr<const compiled_policy> initial)
    : current_(new published_policy{1, std::move(initial)}) {}

policy_slot::~policy_slot() {
    urcu_qsbr_synchronize_rcu();
    delete current_.load(std::memory_order_acquire);
}

std::uint64_t policy_slot::publish(std::unique_ptr<const compiled_policy> next) {
    std::lock_guard<std::mutex> lock(publish_mutex_);
    const published_policy* old = current_.load(std::memory_order_acquire);
    const std::uint64_t generation = old->generation + 1;
    current_.store(new published_policy{generation, std::move(next)}, std::memory_order_release);
    // Every reader that could have loaded `old` passes a quiescent state before this returns.
    urcu_qsbr_synchronize_rcu();
    delete old;
    return generation;
}

qsbr_reader::qsbr_reader() noexcept { urcu_qsbr_register_thread(); }
qsbr_reader::~qsbr_reader() { urcu_qsbr_unregister_thread(); }
void qsbr_reader::quiescent() noexcept { urcu_qsbr_quiescent_state(); }
void qsbr_reader::offline() noexcept { urcu_qsbr_thread_offline(); }
void qsbr_reader::online() noexcept { urcu_qsbr_thread_online(); }

}  // namespace pbxgate
