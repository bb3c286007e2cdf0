#include "blocklist/blocklist_set.hpp"

namespace pbxgate::blocklist {

std::unique_ptr<const blocklist_set> blocklist_set::build(std::vector<file_contents> files) {
    std::unique_ptr<blocklist_set> out(new blocklist_set());
    std::vector<zoned_prefix> all;
    std::size_t n = 0;
    for (const file_contents& f : files) n += f.entries.size();
    all.reserve(n);
    for (const file_contents& f : files)
        for (const entry& e : f.entries) all.push_back({e.prefix, zone::blocked});
    out->map_ = zone_map::build(all);
    out->entries_ = n;
    out->files_ = std::move(files);
    return out;
}

std::vector<match> blocklist_set::matches(const ip_address& a) const {
    std::vector<match> out;
    const ip_address probe = a.unmapped();
    for (const file_contents& f : files_)
        for (const entry& e : f.entries)
            if (e.prefix.contains(probe)) out.push_back({f.path, e.line, e.prefix});
    return out;
}

}  // namespace pbxgate::blocklist
