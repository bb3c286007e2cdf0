#include "queue/verdict_batch.hpp"

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#include <algorithm>

namespace pbxgate {

namespace {
// nlmsghdr + nfgenmsg + NFQA_VERDICT_HDR + NFQA_MARK, each 4-aligned.
constexpr std::size_t max_message_len = 16 + 4 + 12 + 8;

bool same_run(const verdict_entry& a, const verdict_entry& b) noexcept {
    return !a.repeat && !b.repeat && a.action == b.action && a.has_mark == b.has_mark &&
           (!a.has_mark || a.mark == b.mark);
}
}  // namespace

verdict_batch::verdict_batch(std::size_t capacity) : entries_(capacity), buffer_(capacity * max_message_len) {}

bool verdict_batch::add(std::uint32_t id, verdict v, std::optional<std::uint32_t> mark) noexcept {
    if (full()) return false;
    entries_[count_++] = verdict_entry{id, v, mark.has_value(), mark.value_or(0), false, false};
    return true;
}

bool verdict_batch::add_up_to(std::uint32_t id, verdict v) noexcept {
    if (full()) return false;
    entries_[count_++] = verdict_entry{id, v, false, 0, false, true};
    return true;
}

bool verdict_batch::add_repeat(std::uint32_t id, std::uint32_t mark) noexcept {
    if (full()) return false;
    entries_[count_++] = verdict_entry{id, verdict::accept, true, mark, true, false};
    return true;
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

    // Kernel ids are a wrapping u32 sequence; order them relative to the first one. A burst
    // is usually verdicted in order already: then one linear check replaces the sort. An
    // up-to batch goes after a verdict for its own id.
    const std::uint32_t ref = entries_[0].id - 0x80000000u;
    const auto before = [ref](const verdict_entry& a, const verdict_entry& b) {
        return a.id - ref != b.id - ref ? a.id - ref < b.id - ref : a.up_to < b.up_to;
    };
    const auto last = entries_.begin() + static_cast<std::ptrdiff_t>(n);
    if (!std::is_sorted(entries_.begin(), last, before)) std::sort(entries_.begin(), last, before);

    std::size_t off = 0;
    std::size_t run_start = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const bool run_goes_on = allow_batch_messages && i + 1 < n && same_run(entries_[i], entries_[i + 1]);
        if (run_goes_on) continue;
        if (i > run_start || entries_[i].up_to) {
            off = put_verdict(off, NFQNL_MSG_VERDICT_BATCH, queue_num, entries_[i]);
            ++batch_messages_;
        } else {
            off = put_verdict(off, NFQNL_MSG_VERDICT, queue_num, entries_[i]);
            ++verdict_messages_;
        }
        run_start = i + 1;
    }
    return {buffer_.data(), off};
}

}  // namespace pbxgate
