#include "queue/verdict_batch.hpp"

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#include <algorithm>
#include <array>
#include <limits>

namespace pbxgate {

namespace {
// nlmsghdr + nfgenmsg + NFQA_VERDICT_HDR + NFQA_MARK, each 4-aligned.
constexpr std::size_t max_message_len = 16 + 4 + 12 + 8;
constexpr std::size_t state_count = verdict_batch::max_batch_keys + 1;  // keys + "none yet"
constexpr std::size_t unreachable = std::numeric_limits<std::size_t>::max() / 2;
}  // namespace

verdict_batch::verdict_batch(std::size_t capacity)
    : entries_(capacity),
      keys_(capacity),
      back_(capacity * state_count),
      batched_(capacity),
      key_values_(max_batch_keys),
      buffer_(capacity * max_message_len) {}

bool verdict_batch::add(std::uint32_t id, verdict v, std::optional<std::uint32_t> mark) noexcept {
    if (full()) return false;
    entries_[count_++] = verdict_entry{id, v, mark.has_value(), mark.value_or(0), false};
    return true;
}

bool verdict_batch::add_repeat(std::uint32_t id, std::uint32_t mark) noexcept {
    if (full()) return false;
    entries_[count_++] = verdict_entry{id, verdict::accept, true, mark, true};
    return true;
}

std::size_t verdict_batch::key_of(const verdict_entry& e) noexcept {
    if (e.repeat) return max_batch_keys;  // one message each, never batched
    for (std::size_t k = 0; k < key_count_; ++k) {
        const auto& kv = key_values_[k];
        if (kv.action == e.action && kv.has_mark == e.has_mark && (!e.has_mark || kv.mark == e.mark)) return k;
    }
    if (key_count_ == max_batch_keys) return max_batch_keys;
    key_values_[key_count_] = e;
    return key_count_++;
}

std::size_t verdict_batch::put_verdict(std::size_t off, std::uint16_t type, std::uint16_t queue_num,
                                       const verdict_entry& e) noexcept {
    auto* nlh = nfq_nlmsg_put(reinterpret_cast<char*>(buffer_.data() + off), type, queue_num);
    // Ids are u32 on the wire; the library takes an int and stores htonl of its bits.
    nfq_nlmsg_verdict_put(nlh, static_cast<int>(e.id), e.repeat                      ? NF_REPEAT
                          : e.action == verdict::accept ? NF_ACCEPT
                                                        : NF_DROP);
    if (e.has_mark) nfq_nlmsg_verdict_put_mark(nlh, e.mark);
    return off + NLMSG_ALIGN(nlh->nlmsg_len);
}

std::span<const std::uint8_t> verdict_batch::build(std::uint16_t queue_num, bool allow_batch_messages) noexcept {
    verdict_messages_ = 0;
    batch_messages_ = 0;
    const std::size_t n = count_;
    if (n == 0) return {};

    // Kernel ids are a wrapping u32 sequence; order them relative to the first one.
    const std::uint32_t ref = entries_[0].id - 0x80000000u;
    std::sort(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(n),
              [ref](const verdict_entry& a, const verdict_entry& b) { return a.id - ref < b.id - ref; });

    key_count_ = 0;
    for (std::size_t i = 0; i < n; ++i) {
        keys_[i] = static_cast<std::uint8_t>(allow_batch_messages ? key_of(entries_[i]) : max_batch_keys);
    }

    // cost[s]: fewest messages so far when the open batch run has key s (s == none: no run).
    constexpr std::size_t none = max_batch_keys;
    std::array<std::size_t, state_count> cost;
    cost.fill(unreachable);
    cost[none] = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t k = keys_[i];
        std::array<std::size_t, state_count> next;
        std::uint8_t* back = &back_[i * state_count];
        for (std::size_t s = 0; s < state_count; ++s) {  // entry i goes alone: one message
            next[s] = cost[s] + 1;
            back[s] = static_cast<std::uint8_t>(s);
        }
        if (k != none) {  // entry i joins run k: free if run k is open, else one batch message
            std::size_t best = unreachable, best_state = none;
            for (std::size_t s = 0; s < state_count; ++s)
                if (s != k && cost[s] < best) { best = cost[s]; best_state = s; }
            if (cost[k] <= best + 1) {
                next[k] = cost[k];
                back[k] = static_cast<std::uint8_t>(k);
            } else {
                next[k] = best + 1;
                back[k] = static_cast<std::uint8_t>(best_state);
            }
        }
        cost = next;
    }
    std::size_t state = static_cast<std::size_t>(std::min_element(cost.begin(), cost.end()) - cost.begin());
    for (std::size_t i = n; i-- > 0;) {
        batched_[i] = state == keys_[i] && state != none;
        state = back_[i * state_count + state];
    }

    std::size_t off = 0;
    for (std::size_t i = 0; i < n; ++i) {
        if (batched_[i]) continue;
        off = put_verdict(off, NFQNL_MSG_VERDICT, queue_num, entries_[i]);
        ++verdict_messages_;
    }
    for (std::size_t i = 0; i < n; ++i) {
        if (!batched_[i]) continue;
        std::size_t j = i + 1;
        while (j < n && !batched_[j]) ++j;
        if (j < n && keys_[j] == keys_[i]) continue;  // the run goes on
        off = put_verdict(off, NFQNL_MSG_VERDICT_BATCH, queue_num, entries_[i]);
        ++batch_messages_;
    }
    return {buffer_.data(), off};
}

}  // namespace pbxgate
