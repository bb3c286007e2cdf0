#include "engine/kernel_prefilter.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <iterator>

#include "kernelset/prefilter_sets.hpp"

namespace pbxgate {

kernel_prefilter::kernel_prefilter(std::unique_ptr<kernelset::set_backend> sets) : sets_(std::move(sets)) {}

void kernel_prefilter::warn_once(const std::string& what, const std::string& message) {
    auto& last = warned_[what];
    if (last == message) return;
    last = message;
    if (!message.empty()) spdlog::warn("{}", message);
}

namespace {

// Monitor mode's ban table: the kernel ban sets are kept empty.
class no_bans final : public protect::ban_admin {
public:
    std::vector<protect::ban_view> list_bans(std::int64_t) const override { return {}; }
    std::string add_ban(const ip_prefix&, std::int64_t, const std::string&, std::int64_t) override {
        return "monitor mode";
    }
    bool remove_ban(const ip_prefix&) override { return false; }
    std::size_t flush_bans() override { return 0; }
};

}  // namespace

namespace {

bool prefix_less(const ip_prefix& a, const ip_prefix& b) noexcept {
    if (a.address.family != b.address.family) return a.address.family < b.address.family;
    if (a.address.bytes != b.address.bytes) return a.address.bytes < b.address.bytes;
    return a.length < b.length;
}

// Room for the members and for growth by in-place changes: ipset's default maxelem (65536)
// would refuse a long feed.
std::uint32_t max_elements_for(std::size_t members) {
    std::uint64_t room = 65536;
    while (room < members + kernel_prefilter::in_place_limit && room < (std::uint64_t{1} << 30)) room *= 2;
    return static_cast<std::uint32_t>(room);
}

}  // namespace

void kernel_prefilter::apply_blocked(const policy& pol, bool monitor) {
    monitor_ = monitor;
    policy_blocked_ = pol.zones.blocked;
    // A full refill, as before lists existed: the sets may have been recreated from outside
    // (`pbxgate-rules apply`) since they were last written.
    written_.clear();
    refill();
}

void kernel_prefilter::set_list_members(std::vector<ip_prefix> members, bool refill_now) {
    list_members_ = std::move(members);
    if (refill_now) refill();
}

bool kernel_prefilter::refill_in_place(const kernelset::set_spec& spec, const std::vector<ip_prefix>& next,
                                       const std::vector<ip_prefix>& now) {
    std::vector<ip_prefix> gone, added;
    std::set_difference(now.begin(), now.end(), next.begin(), next.end(), std::back_inserter(gone), prefix_less);
    std::set_difference(next.begin(), next.end(), now.begin(), now.end(), std::back_inserter(added), prefix_less);
    if (gone.size() + added.size() > in_place_limit) return false;
    for (const ip_prefix& p : gone)
        if (!sets_->remove(spec.name, p).ok()) return false;
    for (const ip_prefix& p : added)
        if (!sets_->add(spec.name, p, 0).ok()) return false;  // a full set: the swap below resizes
    if (!gone.empty() || !added.empty())
        spdlog::info("kernel pre-filter: {} now holds {} prefix(es) of the blocked zone and blocklists ({} added, {} "
                     "removed in place)",
                     spec.name, next.size(), added.size(), gone.size());
    return true;
}

void kernel_prefilter::refill() {
    for (const ip_family fam : {ip_family::v4, ip_family::v6}) {
        kernelset::set_spec spec = kernelset::blocked_spec(fam);
        std::vector<ip_prefix> members;
        if (!monitor_) {
            for (const ip_prefix& p : policy_blocked_)
                if (p.address.family == fam)
                    for (const ip_prefix& q : kernelset::storable(p)) members.push_back(q);
            for (const ip_prefix& p : list_members_)
                if (p.address.family == fam) members.push_back(p);
            std::sort(members.begin(), members.end(), prefix_less);
            members.erase(std::unique(members.begin(), members.end()), members.end());
        }
        const auto last = written_.find(spec.name);
        if (last != written_.end() && refill_in_place(spec, members, last->second)) {
            last->second = std::move(members);
            continue;
        }
        written_.erase(spec.name);  // unknown contents until the replace below succeeds
        spec.max_elements = max_elements_for(members.size());
        std::vector<kernelset::entry> entries;
        entries.reserve(members.size());
        for (const ip_prefix& p : members) entries.push_back({p, 0, 0, 0});
        kernelset::totals replaced;
        const kernelset::outcome o = kernelset::replace(*sets_, spec, entries, &replaced);
        if (o.code == kernelset::status::absent) {
            warn_once(spec.name, "kernel pre-filter set " + spec.name +
                                     " is not installed (`pbxgate-rules apply` creates it): blocked sources are "
                                     "dropped by the engine, after the queue");
            continue;
        }
        if (!o.ok()) {
            spdlog::error("kernel pre-filter: cannot refill {}: {}; the engine still drops blocked sources",
                          spec.name, o.message);
            continue;
        }
        warn_once(spec.name, "");
        set_counts& c = counts_[spec.name];
        c.packets.base += replaced.packets;
        c.packets.last = 0;
        c.bytes.base += replaced.bytes;
        c.bytes.last = 0;
        spdlog::info("kernel pre-filter: {} holds {} prefix(es) of the blocked zone and blocklists{}", spec.name,
                     members.size(), monitor_ ? " (monitor mode: none, the engine logs them as would-drop)" : "");
        written_[spec.name] = std::move(members);
    }
}

void kernel_prefilter::set_count::observe(std::uint64_t now) noexcept {
    // Fewer than last time: members were removed (bans lifted) or the set was recreated from
    // outside (pbxgate-rules apply). What went away is kept, so the total never goes back.
    if (now < last) base += last - now;
    last = now;
}

void kernel_prefilter::observe(const std::string& set, const kernelset::totals& now) {
    set_counts& c = counts_[set];
    c.packets.observe(now.packets);
    c.bytes.observe(now.bytes);
}

void kernel_prefilter::refresh_counters(std::chrono::steady_clock::time_point now) {
    for (const ip_family fam : {ip_family::v4, ip_family::v6})
        for (const std::string_view name : {kernelset::blocked_set(fam), kernelset::ban_set(fam)}) {
            // Reading a set lists every member with its counters: a blocked set holding a
            // 100,000-line feed takes a good part of a second. Such a set is read less often
            // (at most 5% of the main thread's time), so list changes and reloads never wait.
            auto& next = next_read_[std::string(name)];
            if (now < next) continue;
            std::vector<kernelset::entry> entries;
            const auto start = std::chrono::steady_clock::now();
            if (sets_->list(name, entries).ok()) observe(std::string(name), kernelset::sum(entries));
            next = now + std::max<std::chrono::steady_clock::duration>(period, (std::chrono::steady_clock::now() - start) * 20);
        }
}

void kernel_prefilter::tick(std::chrono::steady_clock::time_point now, std::int64_t now_unix) {
    if (now < next_tick_) return;
    next_tick_ = now + period;
    static const no_bans none;
    if (bans_ || monitor_) {
        protect::ban_set_sync sync(monitor_ ? none : *bans_, *sets_);
        const protect::ban_sync_report r = sync.sync(now_unix);
        if (!r.error.empty()) warn_once("bans", "ban sync: " + r.error);
        else if (r.sets_absent)
            warn_once("bans", "kernel ban sets pbxgate-ban4/6 are not installed (`pbxgate-rules apply` creates them): "
                              "banned sources are dropped by the engine only");
        else
            warn_once("bans", "");
        if (r.added || r.removed) spdlog::info("ban sync: {} added, {} removed in the kernel ban sets", r.added, r.removed);
    }
    refresh_counters(now);
    // The drop log's share of these drops: one line per 10 s with how many, not one per packet.
    if (now >= next_drop_report_) {
        const std::uint64_t total = dropped_packets();
        if (total > reported_)
            spdlog::warn("kernel pre-filter dropped {} packet(s) from blocked or banned sources before the queue",
                         total - reported_);
        reported_ = total;
        next_drop_report_ = now + std::chrono::seconds(10);
    }
}

std::uint64_t kernel_prefilter::dropped_packets() const noexcept {
    std::uint64_t total = 0;
    for (const auto& [name, c] : counts_) total += c.packets.base + c.packets.last;
    return total;
}

std::uint64_t kernel_prefilter::dropped_bytes() const noexcept {
    std::uint64_t total = 0;
    for (const auto& [name, c] : counts_) total += c.bytes.base + c.bytes.last;
    return total;
}

}  // namespace pbxgate
