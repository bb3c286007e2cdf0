// The engine's side of the kernel pre-filter (kernelset/prefilter_sets.hpp): refills the
// blocked sets from the policy at start and at each reload (atomically, by swap), keeps the
// ban sets equal to the ban table, and reads the sets' counters so that the packets they
// drop keep counting as drops of reason blocked. Main thread only, never a worker.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kernelset/kernel_set.hpp"
#include "pbxgate/policy.hpp"
#include "protect/ban_admin.hpp"
#include "protect/ban_set_sync.hpp"

namespace pbxgate {

class kernel_prefilter {
public:
    explicit kernel_prefilter(std::unique_ptr<kernelset::set_backend> sets);

    // At start and after each successful reload: the blocked sets get the policy's
    // blocked zone. Sets that do not exist (rules not installed, nft backend) are left alone.
    // Monitor mode drops nothing: the sets are emptied (and the ban sets too, at the next
    // tick), so the engine sees those sources and logs them as would-drop.
    void apply_blocked(const policy& pol, bool monitor);
    // After each blocklist load: the list entries the kernel may drop (blocklist::kernel_members)
    // join the policy's blocked zone in the same sets. A small change is applied member by
    // member on the live set; a large one (or a first fill) by a fresh set and an atomic swap.
    // refill_now false: only remembered, for an apply_blocked that follows.
    void set_list_members(std::vector<ip_prefix> members, bool refill_now = true);
    // Changes up to this many members are applied in place.
    static constexpr std::size_t in_place_limit = 4096;
    // The ban table to mirror into pbxgate-ban4/6; nullptr: none (the sets are left alone).
    void set_ban_source(const protect::ban_admin* bans) noexcept { bans_ = bans; }
    // On the main loop's timer: ban sync and counters, at most once per `period`.
    void tick(std::chrono::steady_clock::time_point now, std::int64_t now_unix);
    // Packets the sets dropped since the engine started (monotonic).
    std::uint64_t dropped_packets() const noexcept;
    std::uint64_t dropped_bytes() const noexcept;

    static constexpr std::chrono::milliseconds period{1000};

private:
    void refill();
    bool refill_in_place(const kernelset::set_spec& spec, const std::vector<ip_prefix>& next,
                         const std::vector<ip_prefix>& now);
    void refresh_counters(std::chrono::steady_clock::time_point now);
    void observe(const std::string& set, const kernelset::totals& now);
    void warn_once(const std::string& what, const std::string& message);

    struct set_count {
        std::uint64_t base = 0;  // packets of contents swapped out or recreated
        std::uint64_t last = 0;  // the live contents' sum at the last read
        void observe(std::uint64_t now) noexcept;
    };
    struct set_counts {
        set_count packets, bytes;
    };
    std::unique_ptr<kernelset::set_backend> sets_;
    const protect::ban_admin* bans_ = nullptr;
    bool monitor_ = false;
    std::vector<ip_prefix> policy_blocked_;
    std::vector<ip_prefix> list_members_;
    std::map<std::string, std::vector<ip_prefix>> written_;
    std::map<std::string, std::chrono::steady_clock::time_point> next_read_;  // set -> next counter read  // set -> sorted members we put there last
    std::map<std::string, set_counts> counts_;
    std::map<std::string, std::string> warned_;  // what -> last message logged
    std::chrono::steady_clock::time_point next_tick_{};
    std::chrono::steady_clock::time_point next_drop_report_{};
    std::uint64_t reported_ = 0;
};

}  // namespace pbxgate
