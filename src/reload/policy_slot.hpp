// policy_slot: where workers find the current compiled policy, and how a reload replaces it
// without a lock on the packet path (RCU, liburcu's QSBR flavour, as Knot DNS does for zones).
//
// Readers (worker threads) register with RCU, load the pointer once per burst, judge the
// whole burst with that one generation, then report a quiescent state. A thread about to
// block (recv) goes offline so a grace period never waits on it. The writer publishes a
// new policy with a release store, waits for a grace period (every reader has passed a
// quiescent state, so none can still hold the old pointer), then frees the old one.
//
// Why not std::atomic<std::shared_ptr>: libstdc++ implements it with a lock, and the
// reference count would bounce a cache line between workers on every burst.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include "pbxgate/compiled_policy.hpp"

namespace pbxgate {

struct published_policy {
    std::uint64_t generation = 0;
    std::unique_ptr<const compiled_policy> policy;
};

class policy_slot {
public:
    explicit policy_slot(std::unique_ptr<const compiled_policy> initial);
    // Waits for a grace period, then frees the last policy. Readers must be gone.
    ~policy_slot();
    policy_slot(const policy_slot&) = delete;
    policy_slot& operator=(const policy_slot&) = delete;

    // Reader side: valid until the calling thread's next quiescent state or offline period.
    const published_policy* current() const noexcept { return current_.load(std::memory_order_acquire); }

    // Writer side (any non-reader thread; publishers are serialised among themselves).
    // Returns the new generation once the old policy has been freed.
    std::uint64_t publish(std::unique_ptr<const compiled_policy> next);

    std::uint64_t generation() const noexcept { return current()->generation; }

private:
    std::atomic<const published_policy*> current_;
    std::mutex publish_mutex_;  // writers only; readers never touch it
};

// Waits for a grace period: every reader has passed a quiescent state since the call. For
// other RCU-published structures (blocklist/blocklist_slot.hpp) read by the same workers.
void rcu_synchronize() noexcept;

// RAII registration of the calling thread as an RCU reader.
class qsbr_reader {
public:
    qsbr_reader() noexcept;
    ~qsbr_reader();
    qsbr_reader(const qsbr_reader&) = delete;
    qsbr_reader& operator=(const qsbr_reader&) = delete;

    // "I hold no policy pointer now": call between bursts.
    static void quiescent() noexcept;
    // Around a blocking call, so a grace period need not wait for it.
    static void offline() noexcept;
    static void online() noexcept;
};

}  // namespace pbxgate
