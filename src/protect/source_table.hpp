// Per-source SIP state shared by every worker without a lock: a fixed-capacity open-addressing
// table of cache-line slots whose fields are atomics. A source is an IPv4 address or an IPv6
// prefix (/64 by default), folded into one 64-bit key so a slot is claimed with one CAS.
//
// Lookups probe a bounded window of slots, so every operation costs the same whatever the
// load. When the window is full, the quietest source that is neither banned, registered nor
// known is evicted; when the window holds only such protected sources the new one goes
// untracked (counted). Memory is allocated once, at construction: a spoofed-source flood
// cannot grow it.
//
// Concurrency: with --queue-balance the kernel hashes both addresses symmetrically, so one
// peer's requests and the PBX's responses to it usually meet on one worker; when two workers
// do update one source at once, a counter may lose an increment, but a ban is only ever set
// by a compare-and-swap and never lost.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

#include "pbxgate/address.hpp"

namespace pbxgate::protect {

enum class ban_reason : std::uint8_t { none = 0, scanner, auth_failures, request_rate, manual, crowdsec };
inline constexpr unsigned ban_reason_count = 6;
std::string_view to_string(ban_reason r) noexcept;
std::optional<ban_reason> ban_reason_from_string(std::string_view s) noexcept;

// Engine seconds: monotonic on the engine, capture time on replay. 0 means "never".
using seconds_t = std::uint32_t;
inline constexpr seconds_t forever = 0xffffffffu;

struct source_slot {
    std::atomic<std::uint64_t> key{0};          // 0: free
    std::atomic<seconds_t> last_seen{0};
    std::atomic<seconds_t> ban_until{0};        // 0: not banned; forever: until removed
    std::atomic<seconds_t> ban_since{0};
    std::atomic<seconds_t> registered_until{0};
    std::atomic<seconds_t> known_until{0};
    std::atomic<std::uint8_t> ban_why{0};       // ban_reason
    std::atomic<std::uint8_t> ban_monitor{0};   // 1: "would ban" (monitor mode), not enforced
    std::atomic<std::uint16_t> offences{0};     // bans so far (auth_failures repeat factor)
    std::atomic<seconds_t> fail_start{0};
    std::atomic<std::uint32_t> fail_count{0};
    // Request-rate tiers: window start (high 32 bits) and count (low 32 bits).
    std::atomic<std::uint64_t> tier[3]{};
    // Recent transactions: hash with the low bit set when the request carried credentials.
    std::atomic<std::uint32_t> recent_tx[4]{};
    std::atomic<std::uint32_t> recent_next{0};
};

// The 64-bit key of a source: IPv4 under 0x00000001/32 (inside ::/8, never a global IPv6
// prefix), IPv6 as its first 64 bits masked to `v6_len` (<= 64). 0 is never a key.
std::uint64_t source_key(const ip_address& a, std::uint8_t v4_len, std::uint8_t v6_len) noexcept;
ip_prefix key_prefix(std::uint64_t key, std::uint8_t v4_len, std::uint8_t v6_len) noexcept;

class source_table {
public:
    static constexpr std::size_t probe_window = 8;

    explicit source_table(std::size_t capacity);

    std::size_t slot_count() const noexcept { return mask_ + 1; }
    source_slot* find(std::uint64_t key) noexcept;
    // The source's slot, claimed when absent (evicting a quiet unprotected source when the
    // window is full); nullptr when the window holds only protected sources.
    source_slot* find_or_insert(std::uint64_t key, seconds_t now) noexcept;
    void release(source_slot& s) noexcept;  // back to free (admin remove, expiry on save)

    std::uint64_t evictions() const noexcept { return evictions_.load(std::memory_order_relaxed); }
    std::uint64_t untracked() const noexcept { return untracked_.load(std::memory_order_relaxed); }
    source_slot& slot(std::size_t i) noexcept { return slots_[i]; }
    const source_slot& slot(std::size_t i) const noexcept { return slots_[i]; }

private:
    std::size_t home(std::uint64_t key) const noexcept;
    std::unique_ptr<source_slot[]> slots_;
    std::size_t mask_ = 0;
    std::atomic<std::uint64_t> evictions_{0};
    std::atomic<std::uint64_t> untracked_{0};
};

// Banned, registered or known now: such a source is never evicted.
bool is_protected(const source_slot& s, seconds_t now) noexcept;
void reset_state(source_slot& s) noexcept;

}  // namespace pbxgate::protect
