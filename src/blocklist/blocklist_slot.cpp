#include "blocklist/blocklist_slot.hpp"

#include "reload/policy_slot.hpp"

namespace pbxgate::blocklist {

blocklist_slot::~blocklist_slot() {
    rcu_synchronize();
    delete current_.load(std::memory_order_acquire);
}

void blocklist_slot::publish(std::unique_ptr<const blocklist_set> next) {
    std::lock_guard<std::mutex> lock(publish_mutex_);
    const blocklist_set* old = current_.exchange(next.release(), std::memory_order_acq_rel);
    // Every reader that could have loaded `old` passes a quiescent state before this returns.
    rcu_synchronize();
    delete old;
}

}  // namespace pbxgate::blocklist
