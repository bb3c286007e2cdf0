// blocklist_set: the entries of every blocklist file, built once per list change in the
// engine's main thread and then read-only. contains() is on the packet path: one zone_map
// lookup (the structure built for a million prefixes), no lock, no allocation, no throw.
// The per-file entries are kept beside it for explain, the metrics and the kernel set.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "blocklist/blocklist_parser.hpp"
#include "pbxgate/verdict.hpp"
#include "pbxgate/zone_map.hpp"

namespace pbxgate::blocklist {

struct file_contents {
    std::string path;
    std::vector<entry> entries;  // in file order
};

struct match {
    std::string_view file;
    std::uint32_t line = 0;
    ip_prefix prefix;
};

class blocklist_set {
public:
    // May throw std::bad_alloc (main thread only).
    static std::unique_ptr<const blocklist_set> build(std::vector<file_contents> files);
    static std::unique_ptr<const blocklist_set> empty() { return build({}); }

    // ::ffff:a.b.c.d is looked up as a.b.c.d.
    bool contains(const ip_address& a) const noexcept { return map_.lookup(a) == zone::blocked; }
    // Every entry covering `a` (explain): a scan, not for the packet path.
    std::vector<match> matches(const ip_address& a) const;

    const std::vector<file_contents>& files() const noexcept { return files_; }
    std::size_t entry_count() const noexcept { return entries_; }

    blocklist_set(const blocklist_set&) = delete;
    blocklist_set& operator=(const blocklist_set&) = delete;

private:
    blocklist_set() = default;
    zone_map map_;
    std::vector<file_contents> files_;
    std::size_t entries_ = 0;
};

// The packet path's rule: a list entry makes an internet source blocked. Trusted, lan and
// localhost sources are never blocked by a list (an admin's own addresses must not be locked
// out by a feed, as CrowdSec decisions never override them), nor are the PBX's own outbound
// packets and router placement's unprotected destinations.
inline void apply(const blocklist_set* set, const ip_address& src, bool outbound, decision& d) noexcept {
    if (set == nullptr || outbound || d.from != zone::internet || d.why == reason::not_protected) return;
    if (!set->contains(src)) return;
    d.action = verdict::drop;
    d.why = reason::blocklist;
    d.from = zone::blocked;
}

}  // namespace pbxgate::blocklist
