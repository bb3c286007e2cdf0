#include "protect/sip_guard.hpp"

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "util/atomic_file.hpp"
#include "util/hash_mix.hpp"

namespace pbxgate::protect {
namespace {

// The guard's own drop: the packet is judged here, not by the port policy.
void drop(guard_outcome& out, reason why) noexcept {
    out.action = verdict::drop;
    out.why = why;
    out.judged = true;
}

constexpr auto relaxed = std::memory_order_relaxed;

// One transaction: Call-ID, CSeq number and method, and the top Via branch (which the PBX
// copies into its response, so request and response hash alike). Low bit: credentials.
std::uint32_t transaction_hash(const sip::message_view& m) noexcept {
    std::uint32_t h = static_cast<std::uint32_t>(hash_bytes(hash_bytes(0xcbf29ce484222325ull, m.call_id), m.via_branch));
    h ^= m.cseq * 2654435761u;
    h ^= static_cast<std::uint32_t>(m.cseq_method) << 24;
    h &= ~1u;
    return h == 0 ? 2u : h;
}

constexpr unsigned char fold_case(char c) noexcept {
    return static_cast<unsigned char>((c >= 'A' && c <= 'Z') ? c + 32 : c);
}

sip_settings::pair_filter make_filter(const std::vector<std::string>& list) noexcept {
    sip_settings::pair_filter f;
    for (const std::string& needle : list) {
        if (needle.empty()) continue;
        if (needle.size() == 1) f.short_needle = true;
        else f.pairs[fold_case(needle[0])] |= std::uint64_t{1} << (fold_case(needle[1]) & 63u);
    }
    f.built = true;
    f.count = list.size();
    return f;
}

// Does `text` contain any of the needles (ASCII case-insensitive)? One pass over the text: a
// position is tried only when its first two bytes (case folded) could start some needle, per
// the list's table of leading pairs (built when the policy was read), instead of a
// substring search over the text per needle (a benign User-Agent then costs a few
// operations per byte).
bool matches_filtered(std::string_view text, const std::vector<std::string>& list,
                      const sip_settings::pair_filter& f) noexcept {
    const std::size_t n = text.size();
    const auto* t = reinterpret_cast<const unsigned char*>(text.data());
    unsigned char c = fold_case(static_cast<char>(t[0]));
    for (std::size_t i = 0; i < n; ++i) {
        const unsigned char next = i + 1 < n ? fold_case(static_cast<char>(t[i + 1])) : 0;
        const bool pair_hit = i + 1 < n && ((f.pairs[c] >> (next & 63u)) & 1u) != 0;
        if (pair_hit || f.short_needle) {
            // Inline compare, stopping at the first differing byte: the candidates that share
            // a pair ("sip" starts five signatures) mostly differ within a byte or two.
            for (const std::string& needle : list) {
                const std::size_t len = needle.size();
                if (len == 0 || len > n - i) continue;
                std::size_t k = 0;
                while (k < len && fold_case(static_cast<char>(t[i + k])) == fold_case(needle[k])) ++k;
                if (k == len) return true;
            }
        }
        c = next;
    }
    return false;
}

bool matches_any(std::string_view text, const std::vector<std::string>& list,
                 const sip_settings::pair_filter& filter) noexcept {
    if (text.empty() || list.empty()) return false;
    if (filter.built && filter.count == list.size()) return matches_filtered(text, list, filter);
    // Not indexed (settings built by hand): a 2 KB table per call, so only off the policy path.
    return matches_filtered(text, list, make_filter(list));
}

bool in_zones(const sip_settings& s, zone z) noexcept { return (s.protect_zones & zone_bit(z)) != 0; }

seconds_t add_seconds(seconds_t now, std::uint64_t d) noexcept {
    const std::uint64_t t = static_cast<std::uint64_t>(now) + d;
    return t >= forever ? forever - 1 : static_cast<seconds_t>(t);
}

void set_evidence(ban_event& e, std::string_view text) noexcept {
    const std::size_t n = std::min(text.size(), e.evidence.size() - 1);
    std::copy_n(text.data(), n, e.evidence.data());
    e.evidence[n] = '\0';
}

}  // namespace

// The scanner signature the request carries, or empty.
std::string_view scanner_match(const sip_settings& s, const sip::message_view& m) noexcept {
    const std::string_view fields[] = {m.user_agent, m.from.display, m.from.user};
    if (matches_any(m.user_agent, s.allow_agents, s.allow_agents_filter)) return {};
    for (const std::string_view f : fields) {
        if (matches_any(f, s.scanners, s.scanners_filter)) return f;
        if (s.use_extra_scanners && matches_any(f, s.extra_scanners, s.extra_scanners_filter)) return f;
    }
    return {};
}

seconds_t sip_guard::monotonic_now() noexcept {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return static_cast<seconds_t>(ts.tv_sec) + 1;  // never 0
}

sip_guard::sip_guard(std::size_t capacity, std::uint8_t ipv4_prefix, std::uint8_t ipv6_prefix, clock engine_now)
    : table_(capacity), v4_len_(ipv4_prefix), v6_len_(ipv6_prefix), now_(std::move(engine_now)) {}

bool sip_guard::ban(source_slot& slot, ban_reason why, std::uint32_t duration_s, seconds_t now, bool monitor,
                    guard_outcome& out) noexcept {
    seconds_t current = slot.ban_until.load(relaxed);
    if (current > now) return false;  // already banned: one ban, one log line
    const seconds_t until = duration_s == 0 ? forever : add_seconds(now, duration_s);
    raise_ban_horizon(until);  // before the ban is visible (a failed CAS only widens it)
    if (!slot.ban_until.compare_exchange_strong(current, until, relaxed)) return false;
    slot.ban_since.store(now, relaxed);
    slot.ban_why.store(static_cast<std::uint8_t>(why), relaxed);
    slot.ban_monitor.store(monitor ? 1 : 0, relaxed);
    slot.offences.store(static_cast<std::uint16_t>(slot.offences.load(relaxed) + 1), relaxed);
    out.banned_now = true;
    out.event.source = key_prefix(slot.key.load(relaxed), v4_len_, v6_len_);
    out.event.why = why;
    out.event.duration_s = duration_s;
    out.event.monitor = monitor;
    return true;
}

bool sip_guard::trusted(const sip_settings& s, const source_slot* slot, const ip_address& src,
                        seconds_t now) const noexcept {
    if (slot != nullptr && (slot->registered_until.load(relaxed) > now || slot->known_until.load(relaxed) > now))
        return true;
    const ip_address a = src.unmapped();
    for (const ip_prefix& p : s.known_peers)
        if (p.contains(a)) return true;
    return false;
}

bool sip_guard::count_rate(const sip_settings& s, source_slot& slot, seconds_t now, bool monitor,
                           guard_outcome& out) noexcept {
    const std::size_t tiers = std::min<std::size_t>(s.rate_tiers.size(), 3);
    for (std::size_t i = 0; i < tiers; ++i) {
        const sip_rate_tier& t = s.rate_tiers[i];
        const std::uint64_t packed = slot.tier[i].load(relaxed);
        seconds_t start = static_cast<seconds_t>(packed >> 32);
        std::uint32_t n = static_cast<std::uint32_t>(packed);
        if (start == 0 || now - start >= t.window_s) {
            start = now;
            n = 0;
        }
        ++n;
        slot.tier[i].store((static_cast<std::uint64_t>(start) << 32) | n, relaxed);
        if (n > t.requests && ban(slot, ban_reason::request_rate, t.ban_s, now, monitor, out)) {
            out.event.count = n;
            out.event.window_s = t.window_s;
            return true;
        }
    }
    return false;
}

guard_outcome sip_guard::on_request(const sip_settings& s, const ip_address& src, zone z, const sip::message_view& m,
                                    seconds_t now, bool monitor) noexcept {
    guard_outcome out;
    if (!in_zones(s, z)) return out;
    const std::uint64_t k = key(src);
    source_slot* slot = table_.find(k);
    if (slot != nullptr && slot->ban_until.load(relaxed) > now &&
        (monitor || slot->ban_monitor.load(relaxed) == 0)) {
        drop(out, reason::banned);
        return out;
    }
    if (const std::string_view sig = scanner_match(s, m); !sig.empty()) {
        drop(out, reason::scanner);
        if (slot == nullptr) slot = table_.find_or_insert(k, now);
        if (slot != nullptr && ban(*slot, ban_reason::scanner, s.scanner_ban_s, now, monitor, out)) {
            out.event.count = 1;
            set_evidence(out.event, sig);
        }
        return out;
    }
    if (slot == nullptr) slot = table_.find_or_insert(k, now);
    if (slot == nullptr) return out;  // table window full of trusted sources: untracked
    slot->last_seen.store(now, relaxed);
    // Remember the transaction, so a retransmission is not counted and the PBX's answer can
    // be matched to whether the request carried credentials.
    const std::uint32_t tx = transaction_hash(m);
    for (const auto& r : slot->recent_tx) {
        if ((r.load(relaxed) & ~1u) == tx) {
            out.retransmission = true;
            return out;
        }
    }
    const std::uint32_t at = slot->recent_next.load(relaxed);
    slot->recent_tx[at % 4].store(tx | (m.has_credentials() ? 1u : 0u), relaxed);
    slot->recent_next.store(at + 1, relaxed);
    if (m.request_method == sip::method::ack) return out;  // part of the INVITE transaction
    if (trusted(s, slot, src, now)) return out;
    if (count_rate(s, *slot, now, monitor, out)) {
        drop(out, reason::request_rate);
    }
    return out;
}

guard_outcome sip_guard::on_connection_attempt(const sip_settings& s, const ip_address& src, zone z, seconds_t now,
                                               bool monitor) noexcept {
    guard_outcome out;
    if (!in_zones(s, z)) return out;
    source_slot* slot = table_.find_or_insert(key(src), now);
    if (slot == nullptr) return out;
    if (slot->ban_until.load(relaxed) > now && (monitor || slot->ban_monitor.load(relaxed) == 0)) {
        drop(out, reason::banned);
        return out;
    }
    slot->last_seen.store(now, relaxed);
    if (trusted(s, slot, src, now)) return out;
    if (count_rate(s, *slot, now, monitor, out)) {
        drop(out, reason::request_rate);
    }
    return out;
}

guard_outcome sip_guard::on_response(const sip_settings& s, const ip_address& peer, zone z, const sip::message_view& m,
                                     seconds_t now, bool monitor) noexcept {
    guard_outcome out;  // always accepted
    if (!in_zones(s, z) || m.is_request) return out;
    const std::uint16_t st = m.status;
    const sip::method cm = m.cseq_method;
    const bool success = st >= 200 && st < 300;
    const bool challenge = st == 401 || st == 407;
    const bool refusal = (st == 403 && (cm == sip::method::register_ || cm == sip::method::invite)) ||
                         (st == 404 && cm == sip::method::register_);
    if (!success && !challenge && !refusal) return out;
    source_slot* slot = table_.find(key(peer));
    if (slot == nullptr) {
        if (!refusal && !success) return out;
        slot = table_.find_or_insert(key(peer), now);
        if (slot == nullptr) return out;
    }
    // Did the request this answers carry credentials? Unknown counts as "no".
    const std::uint32_t tx = transaction_hash(m);
    bool had_credentials = false;
    for (const auto& r : slot->recent_tx) {
        const std::uint32_t v = r.load(relaxed);
        if ((v & ~1u) == tx) had_credentials = (v & 1u) != 0;
    }
    if (success) {
        if (!had_credentials) return out;  // an open dial plan must not whitelist a scanner
        if (cm == sip::method::register_) {
            const std::int64_t granted = m.granted_expiry();
            if (granted == 0) {
                slot->registered_until.store(0, relaxed);  // de-registration
                return out;
            }
            const std::uint64_t e = granted < 0 ? 3600 : static_cast<std::uint64_t>(granted);
            slot->registered_until.store(add_seconds(now, std::max<std::uint64_t>(e * 2, s.registered_min_s)), relaxed);
        } else {
            slot->known_until.store(add_seconds(now, s.known_s), relaxed);
        }
        return out;
    }
    if (challenge && !had_credentials) return out;  // the first challenge never counts
    const seconds_t start = slot->fail_start.load(relaxed);
    std::uint32_t n = slot->fail_count.load(relaxed);
    if (start == 0 || now - start >= s.auth_window_s) {
        slot->fail_start.store(now, relaxed);
        n = 0;
    }
    ++n;
    slot->fail_count.store(n, relaxed);
    if (n >= s.auth_failures) {
        std::uint64_t d = s.auth_ban_s;
        const unsigned prior = slot->offences.load(relaxed);
        for (unsigned i = 0; i < prior && d < s.auth_ban_max_s; ++i) d *= s.auth_repeat_factor;
        d = std::min<std::uint64_t>(d, s.auth_ban_max_s);
        if (ban(*slot, ban_reason::auth_failures, static_cast<std::uint32_t>(d), now, monitor, out)) {
            out.why = reason::auth_failures;
            out.judged = true;
            out.event.count = n;
            out.event.window_s = s.auth_window_s;
            out.event.status = st;
            slot->fail_count.store(0, relaxed);
            slot->fail_start.store(0, relaxed);
        }
    }
    return out;
}

bool sip_guard::is_banned(const ip_address& src, seconds_t now, bool monitor) noexcept {
    const source_slot* slot = table_.find(key(src));
    return slot != nullptr && slot->ban_until.load(relaxed) > now &&
           (monitor || slot->ban_monitor.load(relaxed) == 0);
}

bool sip_guard::is_registered(const ip_address& src, seconds_t now) noexcept {
    const source_slot* slot = table_.find(key(src));
    return slot != nullptr && slot->registered_until.load(relaxed) > now;
}

bool sip_guard::is_known(const ip_address& src, seconds_t now) noexcept {
    const source_slot* slot = table_.find(key(src));
    return slot != nullptr && slot->known_until.load(relaxed) > now;
}

sip_guard::gauges sip_guard::count(seconds_t now) const noexcept {
    gauges g;
    for (std::size_t i = 0; i < table_.slot_count(); ++i) {
        const source_slot& s = table_.slot(i);
        if (s.key.load(relaxed) == 0) continue;
        ++g.tracked;
        if (s.ban_until.load(relaxed) > now) ++g.banned;
        if (s.registered_until.load(relaxed) > now) ++g.registered;
        if (s.known_until.load(relaxed) > now) ++g.known;
    }
    return g;
}

// --- admin side ---------------------------------------------------------------------------

namespace {

std::int64_t to_unix(seconds_t t, seconds_t now, std::int64_t now_unix) noexcept {
    if (t == forever) return 0;
    return now_unix + (static_cast<std::int64_t>(t) - static_cast<std::int64_t>(now));
}

seconds_t from_unix(std::int64_t t, seconds_t now, std::int64_t now_unix) noexcept {
    const std::int64_t v = static_cast<std::int64_t>(now) + (t - now_unix);
    if (v <= 0) return 1;
    if (v >= static_cast<std::int64_t>(forever)) return forever - 1;
    return static_cast<seconds_t>(v);
}

}  // namespace

ban_view sip_guard::view_of(std::uint64_t k, const source_slot& s, seconds_t now, std::int64_t now_unix) const {
    ban_view v;
    v.source = key_prefix(k, v4_len_, v6_len_);
    const auto why = static_cast<ban_reason>(s.ban_why.load(relaxed));
    v.reason = std::string(to_string(why));
    if (const auto note = notes_.find(k); note != notes_.end() && (why == ban_reason::manual || why == ban_reason::crowdsec)) {
        if (why == ban_reason::manual && !note->second.reason.empty()) v.reason = note->second.reason;
        v.origin = note->second.from.origin;
        v.scenario = note->second.from.scenario;
    }
    v.since_unix = to_unix(s.ban_since.load(relaxed), now, now_unix);
    v.expires_unix = to_unix(s.ban_until.load(relaxed), now, now_unix);
    v.count = s.offences.load(relaxed);
    return v;
}

void sip_guard::raise_ban_horizon(seconds_t until) noexcept {
    seconds_t h = ban_horizon_.load(relaxed);
    while (h < until && !ban_horizon_.compare_exchange_weak(h, until, relaxed)) {
    }
}

std::vector<ban_view> sip_guard::list_bans(std::int64_t now_unix) const {
    const seconds_t now = now_();
    std::vector<ban_view> out;
    if (ban_horizon_.load(relaxed) <= now) return out;  // every ban ever set has ended
    for (std::size_t i = 0; i < table_.slot_count(); ++i) {
        const source_slot& s = table_.slot(i);
        const std::uint64_t k = s.key.load(relaxed);
        const seconds_t until = s.ban_until.load(relaxed);
        if (k == 0 || until <= now || s.ban_monitor.load(relaxed) != 0) continue;
        out.push_back(view_of(k, s, now, now_unix));
    }
    return out;
}

std::optional<ban_view> sip_guard::find_ban(const ip_prefix& source, std::int64_t now_unix) const {
    const seconds_t now = now_();
    const std::uint64_t k = key(source.address);
    // find() is the workers' lookup; the table is never resized, so a const probe is safe.
    const source_slot* s = const_cast<source_table&>(table_).find(k);
    if (s == nullptr || s->ban_until.load(relaxed) <= now || s->ban_monitor.load(relaxed) != 0) return std::nullopt;
    return view_of(k, *s, now, now_unix);
}

std::string sip_guard::add_ban_from(const ip_prefix& source, std::int64_t duration_s, const std::string& reason,
                                    const ban_origin& from, std::int64_t now_unix) {
    std::string err = add_ban(source, duration_s, reason, now_unix);
    if (err.empty() && (!from.origin.empty() || !from.scenario.empty())) notes_[key(source.address)].from = from;
    return err;
}

std::string sip_guard::add_ban(const ip_prefix& source, std::int64_t duration_s, const std::string& reason,
                               std::int64_t now_unix) {
    const bool v4 = source.address.unmapped().family == ip_family::v4;
    const std::uint8_t need = v4 ? v4_len_ : v6_len_;
    if (source.length < need)
        return "a ban covers one source: at least /" + std::to_string(need) + " for " + (v4 ? "IPv4" : "IPv6") +
               " (the [sip] ipv4_prefix/ipv6_prefix)";
    if (duration_s < 0) return "the duration must not be negative";
    const ban_reason why = ban_reason_from_string(reason).value_or(ban_reason::manual);
    const seconds_t now = now_();
    source_slot* slot = table_.find_or_insert(key(source.address), now);
    if (slot == nullptr) return "the source table has no room near this source (all trusted or banned)";
    const seconds_t until = duration_s == 0 ? forever : from_unix(now_unix + duration_s, now, now_unix);
    raise_ban_horizon(until);
    slot->ban_until.store(until, relaxed);
    slot->ban_since.store(now, relaxed);
    slot->ban_why.store(static_cast<std::uint8_t>(why), relaxed);
    slot->ban_monitor.store(0, relaxed);
    slot->offences.store(static_cast<std::uint16_t>(slot->offences.load(relaxed) + 1), relaxed);
    slot->last_seen.store(now, relaxed);
    if (why == ban_reason::manual && reason != to_string(ban_reason::manual)) notes_[key(source.address)] = {reason, {}};
    else notes_.erase(key(source.address));
    return {};
}

bool sip_guard::remove_ban(const ip_prefix& source) {
    source_slot* slot = table_.find(key(source.address));
    if (slot == nullptr || slot->ban_until.load(relaxed) == 0) return false;
    notes_.erase(key(source.address));
    slot->ban_until.store(0, relaxed);
    slot->ban_monitor.store(0, relaxed);
    slot->fail_count.store(0, relaxed);
    for (auto& t : slot->tier) t.store(0, relaxed);
    return true;
}

std::size_t sip_guard::flush_bans() {
    std::size_t n = 0;
    const seconds_t now = now_();
    notes_.clear();
    for (std::size_t i = 0; i < table_.slot_count(); ++i) {
        source_slot& s = table_.slot(i);
        if (s.key.load(relaxed) == 0 || s.ban_until.load(relaxed) == 0) continue;
        if (s.ban_until.load(relaxed) > now) ++n;
        s.ban_until.store(0, relaxed);
        s.ban_monitor.store(0, relaxed);
        s.fail_count.store(0, relaxed);
        for (auto& t : s.tier) t.store(0, relaxed);
    }
    return n;
}

// File format, one entry per line (unix seconds; 0 = until removed):
//   ban SOURCE REASON SINCE EXPIRES COUNT
//   registered SOURCE EXPIRES
//   known SOURCE EXPIRES
std::string sip_guard::save(const std::string& path, std::int64_t now_unix) const {
    const seconds_t now = now_();
    std::ostringstream text;
    text << "# pbxgate SIP protection state: bans, registered and known sources\n";
    for (std::size_t i = 0; i < table_.slot_count(); ++i) {
        const source_slot& s = table_.slot(i);
        const std::uint64_t k = s.key.load(relaxed);
        if (k == 0) continue;
        const std::string src = to_string(key_prefix(k, v4_len_, v6_len_));
        const seconds_t b = s.ban_until.load(relaxed);
        if (b > now && s.ban_monitor.load(relaxed) == 0)
            text << "ban " << src << ' ' << to_string(static_cast<ban_reason>(s.ban_why.load(relaxed))) << ' '
                 << to_unix(s.ban_since.load(relaxed), now, now_unix) << ' ' << to_unix(b, now, now_unix) << ' '
                 << s.offences.load(relaxed) << '\n';
        if (const seconds_t r = s.registered_until.load(relaxed); r > now)
            text << "registered " << src << ' ' << to_unix(r, now, now_unix) << '\n';
        if (const seconds_t kn = s.known_until.load(relaxed); kn > now)
            text << "known " << src << ' ' << to_unix(kn, now, now_unix) << '\n';
    }
    // Written beside and renamed over (util/atomic_file): a crash mid-write never leaves a
    // torn file, and a link planted at the path is replaced, not followed.
    return replace_file(path, text.str());
}

std::string sip_guard::load(const std::string& path, std::int64_t now_unix) {
    std::ifstream f(path);
    if (!f) return {};  // first start: nothing saved yet
    const seconds_t now = now_();
    std::string line;
    unsigned lineno = 0;
    std::string errors;
    while (std::getline(f, line)) {
        ++lineno;
        if (line.empty() || line[0] == '#') continue;
        std::istringstream in(line);
        std::string kind, src;
        in >> kind >> src;
        const auto prefix = parse_prefix(src);
        if (!prefix) {
            errors += path + ":" + std::to_string(lineno) + ": bad source '" + src + "'\n";
            continue;
        }
        if (kind == "ban") {
            std::string why;
            std::int64_t since = 0, expires = 0;
            std::uint32_t count = 0;
            in >> why >> since >> expires >> count;
            if (!in || (expires != 0 && expires <= now_unix)) continue;  // bad or expired
            source_slot* slot = table_.find_or_insert(key(prefix->address), now);
            if (slot == nullptr) continue;
            const seconds_t until = expires == 0 ? forever : from_unix(expires, now, now_unix);
            raise_ban_horizon(until);
            slot->ban_until.store(until, relaxed);
            slot->ban_since.store(from_unix(since, now, now_unix), relaxed);
            slot->ban_why.store(static_cast<std::uint8_t>(ban_reason_from_string(why).value_or(ban_reason::manual)),
                                relaxed);
            slot->offences.store(static_cast<std::uint16_t>(std::min<std::uint32_t>(count, 0xffff)), relaxed);
            slot->last_seen.store(now, relaxed);
        } else if (kind == "registered" || kind == "known") {
            std::int64_t expires = 0;
            in >> expires;
            if (!in || expires <= now_unix) continue;
            source_slot* slot = table_.find_or_insert(key(prefix->address), now);
            if (slot == nullptr) continue;
            (kind == "registered" ? slot->registered_until : slot->known_until)
                .store(from_unix(expires, now, now_unix), relaxed);
            slot->last_seen.store(now, relaxed);
        } else {
            errors += path + ":" + std::to_string(lineno) + ": unknown entry '" + kind + "'\n";
        }
    }
    return errors;
}

}  // namespace pbxgate::protect

namespace pbxgate {

void index_scanner_lists(sip_settings& s) noexcept {
    s.scanners_filter = protect::make_filter(s.scanners);
    s.extra_scanners_filter = protect::make_filter(s.extra_scanners);
    s.allow_agents_filter = protect::make_filter(s.allow_agents);
}

}  // namespace pbxgate
