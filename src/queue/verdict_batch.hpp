// verdict_batch: turns the pending verdicts into netlink messages in packet id order,
// written into one preallocated buffer that goes out in a single send.
//
// NFQNL_MSG_VERDICT_BATCH(id X) gives its verdict (and mark) to EVERY packet still queued
// on that queue with id <= X. Messages go in id order (the kernel reinjects in message
// order, so packets of one flow leave in the order they came): the sorted entries are cut
// into runs of equal (verdict, mark), and a run ends whenever the verdict or mark changes
// (Suricata's verdict cache). A run of two or more is one batch message at its last id; a
// run of one, and every NF_REPEAT, is its own NFQNL_MSG_VERDICT.
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
    bool up_to = false;   // answers every packet queued up to `id` (drain): always a batch message
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
    std::size_t room() const noexcept { return entries_.size() - count_; }

    // One NFQNL_MSG_VERDICT_BATCH for every packet still queued up to `id`, known or not
    // (drain). Only correct when nothing below `id` is to get another verdict.
    bool add_up_to(std::uint32_t id, verdict v) noexcept;

    // NF_REPEAT with a packet mark (flow offload, see src/offload/offload_marks.hpp). Always
    // sent as its own NFQNL_MSG_VERDICT: a batch message would give its verdict to every
    // packet below its id, and a repeat must reach only this one.
    bool add_repeat(std::uint32_t id, std::uint32_t mark) noexcept;

    // Writes the messages for every entry added so far (entries stay until clear(), so a
    // failed send can be retried with the same verdicts). The bytes live in this object
    // until the next build().
    std::span<const std::uint8_t> build(std::uint16_t queue_num, bool allow_batch_messages) noexcept;

    // Message counts of the last build().
    std::size_t verdict_messages() const noexcept { return verdict_messages_; }
    std::size_t batch_messages() const noexcept { return batch_messages_; }

    void clear() noexcept { count_ = 0; }

private:
    std::size_t put_verdict(std::size_t off, std::uint16_t type, std::uint16_t queue_num,
                            const verdict_entry& e) noexcept;

    std::vector<verdict_entry> entries_;
    std::vector<std::uint8_t> buffer_;
    std::size_t count_ = 0;
    std::size_t verdict_messages_ = 0;
    std::size_t batch_messages_ = 0;
};

}  // namespace pbxgate
