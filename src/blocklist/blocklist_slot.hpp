// Where workers find the current blocklist_set: published by RCU like the policy
// (reload/policy_slot.hpp), but on its own, so a list change swaps the lists alone and never
// recompiles the policy. Workers load it once per burst, with the policy, inside the same
// read-side section (between their quiescent states).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>

#include "blocklist/blocklist_set.hpp"

namespace pbxgate::blocklist {

class blocklist_slot {
public:
    blocklist_slot() : current_(blocklist_set::empty().release()) {}
    // Waits for a grace period, then frees the last set. Readers must be gone.
    ~blocklist_slot();
    blocklist_slot(const blocklist_slot&) = delete;
    blocklist_slot& operator=(const blocklist_slot&) = delete;

    // Reader side: never null; valid until the calling thread's next quiescent state.
    const blocklist_set* current() const noexcept { return current_.load(std::memory_order_acquire); }

    // Writer side (not an RCU reader): returns once the previous set has been freed.
    void publish(std::unique_ptr<const blocklist_set> next);

private:
    std::atomic<const blocklist_set*> current_;
    std::mutex publish_mutex_;  // writers only
};

}  // namespace pbxgate::blocklist
