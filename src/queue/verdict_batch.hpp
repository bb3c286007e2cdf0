// verdict_batch: turns one burst's verdicts into the fewest netlink messages, written into
// one preallocated buffer that goes out in a single send.
//
// NFQNL_MSG_VERDICT_BATCH(id X) gives its verdict (and mark) to EVERY packet still queued
// on that queue with id <= X, so messages are ordered: first the packets we send one by
// one (NFQNL_MSG_VERDICT), then one batch message per run of equal (verdict, mark) in id
// order, each closing its run. Which packets go one by one is chosen by a small dynamic
// program over the id-sorted entries, so "all accept" is one message, "accepts with a few
// drops" is drops + one batch, and "drops then accepts" is two batches.
//
// A batch message is only correct when no other packet of the queue is outstanding below
// its id; the owner says so with `allow_batch_messages` (false -> one message per packet).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "pbxgate/verdict.hpp"

namespace pbxgate {

struct verdict_entry {
    std::uint32_t id = 0;
    verdict action = verdict::drop;
    bool has_mark = false;
    std::uint32_t mark = 0;
    bool repeat = false;  // NF_REPEAT (flow offload): never part of a batch message
};

class verdict_batch {
public:
    // Allocates everything here; add/build/clear never allocate.
    explicit verdict_batch(std::size_t capacity);

    // False when full (the caller flushes and retries).
    bool add(std::uint32_t id, verdict v, std::optional<std::uint32_t> mark = std::nullopt) noexcept;

    std::size_t size() const noexcept { return count_; }
    bool empty() const noexcept { return count_ == 0; }
    bool full() const noexcept { return count_ == entries_.size(); }
    std::size_t capacity() const noexcept { return entries_.size(); }

    // NF_REPEAT with a packet mark (flow offload, see src/offload/offload_marks.hpp). Always
    // sent as its own NFQNL_MSG_VERDICT: a batch message would give its verdict to every
    // packet below its id, and a repeat must reach only this one.
    bool add_repeat(std::uint32_t id, std::uint32_t mark) noexcept;

    // Writes the messages for every entry added so far (entries stay until clear()).
    // The bytes live in this object until the next build().
    std::span<const std::uint8_t> build(std::uint16_t queue_num, bool allow_batch_messages) noexcept;

    // Message counts of the last build().
    std::size_t verdict_messages() const noexcept { return verdict_messages_; }
    std::size_t batch_messages() const noexcept { return batch_messages_; }

    void clear() noexcept { count_ = 0; }

    // Distinct (verdict, mark) pairs one build() can batch; entries with further pairs go
    // one message each (still correct, just not minimal).
    static constexpr std::size_t max_batch_keys = 8;

private:
    std::size_t key_of(const verdict_entry& e) noexcept;
    std::size_t put_verdict(std::size_t off, std::uint16_t type, std::uint16_t queue_num,
                            const verdict_entry& e) noexcept;

    std::vector<verdict_entry> entries_;
    std::vector<std::uint8_t> keys_;        // per sorted entry: key index, or max_batch_keys
    std::vector<std::uint8_t> back_;        // per entry x state: predecessor state (DP)
    std::vector<std::uint8_t> batched_;     // per sorted entry: 1 when covered by a batch message
    std::vector<verdict_entry> key_values_; // the distinct keys of this build
    std::vector<std::uint8_t> buffer_;
    std::size_t count_ = 0;
    std::size_t key_count_ = 0;
    std::size_t verdict_messages_ = 0;
    std::size_t batch_messages_ = 0;
};

}  // namespace pbxgate
