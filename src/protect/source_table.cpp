#include "protect/source_table.hpp"

#include <array>
#include <cstring>

#include "util/hash_mix.hpp"

namespace pbxgate::protect {
namespace {

constexpr std::array<std::string_view, ban_reason_count> reason_names{"none", "scanner", "auth_failures",
                                                                      "request_rate", "manual", "crowdsec"};
constexpr std::uint64_t v4_tag = 0x0000000100000000ULL;
constexpr auto relaxed = std::memory_order_relaxed;


}  // namespace

std::string_view to_string(ban_reason r) noexcept {
    const auto i = static_cast<unsigned>(r);
    return i < reason_names.size() ? reason_names[i] : "?";
}

std::optional<ban_reason> ban_reason_from_string(std::string_view s) noexcept {
    for (unsigned i = 1; i < reason_names.size(); ++i)
        if (reason_names[i] == s) return static_cast<ban_reason>(i);
    return std::nullopt;
}

std::uint64_t source_key(const ip_address& addr, std::uint8_t v4_len, std::uint8_t v6_len) noexcept {
    const ip_address a = addr.unmapped();
    if (a.family == ip_family::v4) {
        const std::uint32_t mask = v4_len == 0 ? 0 : (v4_len >= 32 ? 0xffffffffu : ~((1u << (32 - v4_len)) - 1));
        return v4_tag | (a.v4_host() & mask);
    }
    std::uint64_t hi = 0;
    for (int i = 0; i < 8; ++i) hi = (hi << 8) | a.bytes[static_cast<std::size_t>(i)];
    const unsigned len = v6_len > 64 ? 64 : v6_len;
    const std::uint64_t mask = len == 0 ? 0 : (len == 64 ? ~0ULL : ~((1ULL << (64 - len)) - 1));
    hi &= mask;
    // The folded IPv4 range (0:1::/32) and ::/64 are not global IPv6 sources; keep them apart.
    if ((hi >> 32) == 1) hi |= 0x8000000000000000ULL;
    return hi == 0 ? 0x0000000200000000ULL : hi;
}

ip_prefix key_prefix(std::uint64_t key, std::uint8_t v4_len, std::uint8_t v6_len) noexcept {
    ip_prefix p;
    if ((key >> 32) == 1) {
        p.address = ip_address::v4(static_cast<std::uint32_t>(key));
        p.length = v4_len;
        return p;
    }
    std::uint8_t b[16]{};
    for (int i = 0; i < 8; ++i) b[i] = static_cast<std::uint8_t>(key >> (56 - 8 * i));
    p.address = ip_address::v6(b);
    p.length = v6_len > 64 ? 64 : v6_len;
    return p;
}

source_table::source_table(std::size_t capacity)
    : slots_(new source_slot[table_slots(capacity)]), mask_(table_slots(capacity) - 1) {}

std::size_t source_table::home(std::uint64_t key) const noexcept { return static_cast<std::size_t>(mix64(key)) & mask_; }

source_slot* source_table::find(std::uint64_t key) noexcept {
    const std::size_t h = home(key);
    for (std::size_t i = 0; i < probe_window; ++i) {
        source_slot& s = slots_[(h + i) & mask_];
        if (s.key.load(std::memory_order_acquire) == key) return &s;
    }
    return nullptr;
}

bool is_protected(const source_slot& s, seconds_t now) noexcept {
    return s.ban_until.load(relaxed) > now || s.registered_until.load(relaxed) > now ||
           s.known_until.load(relaxed) > now;
}

void reset_state(source_slot& s) noexcept {
    s.ban_until.store(0, relaxed);
    s.ban_since.store(0, relaxed);
    s.registered_until.store(0, relaxed);
    s.known_until.store(0, relaxed);
    s.ban_why.store(0, relaxed);
    s.ban_monitor.store(0, relaxed);
    s.offences.store(0, relaxed);
    s.fail_start.store(0, relaxed);
    s.fail_count.store(0, relaxed);
    for (auto& t : s.tier) t.store(0, relaxed);
    for (auto& t : s.recent_tx) t.store(0, relaxed);
    s.recent_next.store(0, relaxed);
}

source_slot* source_table::find_or_insert(std::uint64_t key, seconds_t now) noexcept {
    const std::size_t h = home(key);
    source_slot* victim = nullptr;
    seconds_t victim_seen = forever;
    for (std::size_t i = 0; i < probe_window; ++i) {
        source_slot& s = slots_[(h + i) & mask_];
        std::uint64_t k = s.key.load(std::memory_order_acquire);
        if (k == key) return &s;
        if (k == 0) {
            reset_state(s);
            s.last_seen.store(now, relaxed);
            if (s.key.compare_exchange_strong(k, key, std::memory_order_acq_rel)) return &s;
            if (k == key) return &s;  // another worker claimed it for the same source
            continue;
        }
        if (is_protected(s, now)) continue;
        const seconds_t seen = s.last_seen.load(relaxed);
        if (seen < victim_seen) {
            victim = &s;
            victim_seen = seen;
        }
    }
    if (victim == nullptr) {
        untracked_.fetch_add(1, relaxed);
        return nullptr;
    }
    std::uint64_t old = victim->key.load(std::memory_order_acquire);
    if (old == 0 || old == key || is_protected(*victim, now)) return old == key ? victim : nullptr;
    // Evict: the old source loses its (quiet, untrusted) counters.
    if (!victim->key.compare_exchange_strong(old, key, std::memory_order_acq_rel)) return nullptr;
    reset_state(*victim);
    victim->last_seen.store(now, relaxed);
    evictions_.fetch_add(1, relaxed);
    return victim;
}

void source_table::release(source_slot& s) noexcept {
    reset_state(s);
    s.key.store(0, std::memory_order_release);
}

}  // namespace pbxgate::protect
