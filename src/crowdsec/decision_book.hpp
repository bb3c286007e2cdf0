// The CrowdSec decisions in force on this engine, and how they reach the ban table: a ban
// decision bans each source it covers (at the ban table's granularity, [sip] ipv4_prefix /
// ipv6_prefix) with reason `crowdsec`, its origin and scenario; a deleted or expired one
// lifts what it banned. Never a source of the trusted, lan or localhost zone, and never
// over a ban of pbxgate's own (scanner, manual...): that one stays as it is.
//
// Bounded: at most `capacity` sources (the ban table's capacity); past it the decision
// expiring first is evicted (its ban lifted) and counted. A Range wider than
// max_range_sources sources is skipped and counted (the kernel set could hold it, the
// per-source ban table cannot).
//
// Main thread only (it calls ban_admin, like the control socket does).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "crowdsec/decision_stream.hpp"
#include "pbxgate/verdict.hpp"
#include "protect/ban_admin.hpp"

namespace pbxgate::crowdsec {

inline constexpr std::size_t max_range_sources = 256;

struct book_counts {
    std::uint64_t applied = 0;         // sources banned (new or renewed)
    std::uint64_t lifted = 0;          // sources unbanned by a deleted decision or a full resync
    std::uint64_t protected_zone = 0;  // sources skipped: trusted, lan or localhost
    std::uint64_t own_ban = 0;         // sources already banned by pbxgate itself: left alone
    std::uint64_t too_broad = 0;       // Range decisions wider than max_range_sources
    std::uint64_t evictions = 0;       // sources evicted at capacity
    std::uint64_t no_room = 0;         // the ban table had no slot near the source
};

// One change, for the log line.
struct book_event {
    bool banned = true;  // false: lifted
    ip_prefix source;
    std::string origin;
    std::string scenario;
    std::int64_t duration_s = 0;
};

class decision_book {
public:
    using zone_lookup = std::function<zone(const ip_address&)>;

    decision_book(std::uint8_t ipv4_prefix, std::uint8_t ipv6_prefix, std::size_t capacity);

    // `full`: the answer to a startup pull, the whole truth: what it does not name is lifted.
    std::vector<book_event> apply(const stream_delta& delta, bool full, protect::ban_admin& bans,
                                  const zone_lookup& zone_of, std::int64_t now_unix);

    // After a reload: lifts the bans on sources whose zone is now trusted, lan or localhost.
    std::vector<book_event> recheck_zones(protect::ban_admin& bans, const zone_lookup& zone_of);

    std::size_t active(std::int64_t now_unix);  // sources banned by CrowdSec now (prunes the expired)
    const book_counts& counts() const noexcept { return counts_; }

    // Persistence: one line per source, "decision ID SOURCE EXPIRES ORIGIN SCENARIO...".
    // load returns the decisions still running (to apply as a delta), and errors as text.
    std::string save(const std::string& path, std::int64_t now_unix) const;
    std::vector<decision> load(const std::string& path, std::int64_t now_unix, std::string& errors) const;

private:
    struct entry {
        std::int64_t id = 0;
        ip_prefix source;
        std::string origin;
        std::string scenario;
        std::int64_t expires_unix = 0;
    };
    std::vector<ip_prefix> sources_of(const ip_prefix& target) const;
    void ban(const decision& d, const ip_prefix& source, protect::ban_admin& bans, std::int64_t now_unix,
             std::vector<book_event>& events);
    void lift(const std::string& key, protect::ban_admin& bans, std::vector<book_event>& events);
    void prune(std::int64_t now_unix, protect::ban_admin* bans = nullptr);

    std::uint8_t v4_len_;
    std::uint8_t v6_len_;
    std::size_t capacity_;
    std::map<std::string, entry> entries_;                    // by source text
    std::set<std::pair<std::int64_t, std::string>> by_expiry_;  // eviction and pruning order
    book_counts counts_;
};

}  // namespace pbxgate::crowdsec
