#include "crowdsec/decision_book.hpp"

#include <fstream>
#include <sstream>
#include <unordered_set>

#include "util/atomic_file.hpp"

namespace pbxgate::crowdsec {
namespace {

ip_prefix masked(ip_address a, std::uint8_t len) {
    const unsigned bits = a.family == ip_family::v4 ? 32 : 128;
    for (unsigned i = len; i < bits; ++i) a.bytes[i / 8] = static_cast<std::uint8_t>(a.bytes[i / 8] & ~(0x80u >> (i % 8)));
    return ip_prefix{a, len};
}

// `a` plus n blocks of a /len prefix (n < 2^16): an addition on the address's bytes.
ip_address nth_block(ip_address a, std::uint8_t len, std::uint64_t n) {
    const unsigned bits = a.family == ip_family::v4 ? 32 : 128;
    const unsigned low = bits - len;  // bits below the block
    std::uint64_t carry = n << (low % 8);
    for (int i = static_cast<int>(bits / 8) - 1 - static_cast<int>(low / 8); i >= 0 && carry != 0; --i) {
        const std::uint64_t sum = a.bytes[static_cast<std::size_t>(i)] + (carry & 0xff);
        a.bytes[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(sum & 0xff);
        carry = (carry >> 8) + (sum >> 8);
    }
    return a;
}

bool is_crowdsec(const std::optional<protect::ban_view>& v) { return v && v->reason == "crowdsec"; }

}  // namespace

decision_book::decision_book(std::uint8_t ipv4_prefix, std::uint8_t ipv6_prefix, std::size_t capacity)
    : v4_len_(ipv4_prefix), v6_len_(ipv6_prefix), capacity_(capacity) {}

std::vector<ip_prefix> decision_book::sources_of(const ip_prefix& target) const {
    const ip_address a = target.address.unmapped();
    const bool v4 = a.family == ip_family::v4;
    std::uint8_t len = target.length;
    if (target.address.family == ip_family::v6 && v4) len = static_cast<std::uint8_t>(len >= 96 ? len - 96 : 0);
    const std::uint8_t gran = v4 ? v4_len_ : v6_len_;
    if (len >= gran) return {masked(a, gran)};
    const unsigned wider = gran - len;
    if (wider > 16 || (std::size_t{1} << wider) > max_range_sources) return {};
    std::vector<ip_prefix> out;
    const ip_prefix base = masked(a, len);
    for (std::uint64_t i = 0; i < (std::uint64_t{1} << wider); ++i)
        out.push_back(ip_prefix{nth_block(base.address, gran, i), gran});
    return out;
}

void decision_book::lift(const std::string& key, protect::ban_admin& bans, std::vector<book_event>& events) {
    const auto it = entries_.find(key);
    if (it == entries_.end()) return;
    // Lifted only while the ban is still CrowdSec's: an admin's or the engine's own ban on
    // the same source since then stays.
    if (is_crowdsec(bans.find_ban(it->second.source, 0))) {
        bans.remove_ban(it->second.source);
        ++counts_.lifted;
        events.push_back({false, it->second.source, it->second.origin, it->second.scenario, 0});
    }
    by_expiry_.erase({it->second.expires_unix, key});
    entries_.erase(it);
}

void decision_book::ban(const decision& d, const ip_prefix& source, protect::ban_admin& bans, std::int64_t now_unix,
                        std::vector<book_event>& events) {
    const std::string key = to_string(source);
    const auto existing = bans.find_ban(source, now_unix);
    if (existing && !is_crowdsec(existing)) {
        ++counts_.own_ban;
        return;
    }
    auto it = entries_.find(key);
    if (it == entries_.end() && entries_.size() >= capacity_) {
        if (by_expiry_.empty()) return;
        const std::string victim = by_expiry_.begin()->second;
        ++counts_.evictions;
        lift(victim, bans, events);
    }
    if (std::string err = bans.add_ban_from(source, d.duration_s, "crowdsec", {d.origin, d.scenario}, now_unix);
        !err.empty()) {
        ++counts_.no_room;
        return;
    }
    if (it != entries_.end()) by_expiry_.erase({it->second.expires_unix, key});
    entry& e = entries_[key];
    const bool renewed = e.id != 0 && e.id == d.id;
    e = entry{d.id, source, d.origin, d.scenario, now_unix + d.duration_s};
    by_expiry_.insert({e.expires_unix, key});
    ++counts_.applied;
    if (!renewed) events.push_back({true, source, d.origin, d.scenario, d.duration_s});
}

std::vector<book_event> decision_book::apply(const stream_delta& delta, bool full, protect::ban_admin& bans,
                                             const zone_lookup& zone_of, std::int64_t now_unix) {
    std::vector<book_event> events;
    prune(now_unix, &bans);
    // Deleted first: a startup answer lists the expired decisions of a source beside its
    // running one.
    for (const decision& d : delta.deleted) {
        for (const ip_prefix& s : sources_of(d.target)) {
            const auto it = entries_.find(to_string(s));
            if (it == entries_.end() || (d.id != 0 && it->second.id != d.id)) continue;
            lift(it->first, bans, events);
        }
    }
    std::unordered_set<std::string> named;
    for (const decision& d : delta.added) {
        if (d.duration_s <= 0) continue;
        const std::vector<ip_prefix> sources = sources_of(d.target);
        if (sources.empty()) {
            ++counts_.too_broad;
            continue;
        }
        for (const ip_prefix& s : sources) {
            const zone z = zone_of(s.address);
            if (z == zone::trusted || z == zone::lan || z == zone::localhost) {
                ++counts_.protected_zone;
                continue;
            }
            if (full) named.insert(to_string(s));
            ban(d, s, bans, now_unix, events);
        }
    }
    if (full) {
        std::vector<std::string> gone;
        for (const auto& [key, e] : entries_)
            if (!named.count(key)) gone.push_back(key);
        for (const std::string& key : gone) lift(key, bans, events);
    }
    return events;
}

void decision_book::prune(std::int64_t now_unix, protect::ban_admin* bans) {
    // The ban table expires the ban itself; the book forgets it, and with the ban table at
    // hand, its origin and scenario there too (remove_ban on an expired ban only does that).
    while (!by_expiry_.empty() && by_expiry_.begin()->first <= now_unix) {
        const auto it = entries_.find(by_expiry_.begin()->second);
        if (bans != nullptr && it != entries_.end() && !bans->find_ban(it->second.source, now_unix))
            bans->remove_ban(it->second.source);
        if (it != entries_.end()) entries_.erase(it);
        by_expiry_.erase(by_expiry_.begin());
    }
}

std::vector<book_event> decision_book::recheck_zones(protect::ban_admin& bans, const zone_lookup& zone_of) {
    std::vector<book_event> events;
    std::vector<std::string> now_protected;
    for (const auto& [key, e] : entries_) {
        const zone z = zone_of(e.source.address);
        if (z == zone::trusted || z == zone::lan || z == zone::localhost) now_protected.push_back(key);
    }
    for (const std::string& key : now_protected) {
        ++counts_.protected_zone;
        lift(key, bans, events);
    }
    return events;
}

std::size_t decision_book::active(std::int64_t now_unix) {
    prune(now_unix);
    return entries_.size();
}

std::string decision_book::save(const std::string& path, std::int64_t now_unix) const {
    std::ostringstream text;
    text << "# pbxgate: CrowdSec decisions in force (decision ID SOURCE EXPIRES ORIGIN SCENARIO)\n";
    for (const auto& [key, e] : entries_) {
        if (e.expires_unix <= now_unix) continue;
        text << "decision " << e.id << ' ' << key << ' ' << e.expires_unix << ' ' << (e.origin.empty() ? "-" : e.origin)
             << ' ' << e.scenario << '\n';
    }
    // Written beside and renamed over (util/atomic_file): a crash mid-write never leaves a
    // torn file, and a link planted at the path is replaced, not followed.
    return replace_file(path, text.str());
}

std::vector<decision> decision_book::load(const std::string& path, std::int64_t now_unix, std::string& errors) const {
    std::vector<decision> out;
    std::ifstream f(path);
    if (!f) return out;  // first start
    std::string line;
    unsigned lineno = 0;
    while (std::getline(f, line) && out.size() < capacity_) {
        ++lineno;
        if (line.empty() || line[0] == '#') continue;
        std::istringstream in(line);
        std::string kind, source, origin;
        decision d;
        std::int64_t expires = 0;
        in >> kind >> d.id >> source >> expires >> origin;
        const auto prefix = parse_prefix(source);
        if (kind != "decision" || !in || !prefix) {
            errors += path + ":" + std::to_string(lineno) + ": not a decision line\n";
            continue;
        }
        std::getline(in >> std::ws, d.scenario);
        if (expires <= now_unix) continue;
        d.target = *prefix;
        d.origin = origin == "-" ? std::string() : origin;
        d.duration_s = expires - now_unix;
        out.push_back(std::move(d));
    }
    return out;
}

}  // namespace pbxgate::crowdsec
