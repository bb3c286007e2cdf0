// Loading the [blocklists] files into a blocklist_set, off the packet path (the engine's main
// thread, `pbxgate check`, `pbxgate explain`). Per line, not all or nothing: a malformed line
// is reported with FILE:LINE and skipped; a file that cannot be read (missing, unreadable,
// refused by strict modes) is reported and keeps the entries it had in `previous` (none at
// start), so a failed feed download never lifts the blocks it held.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "blocklist/blocklist_set.hpp"
#include "pbxgate/policy.hpp"

namespace pbxgate::blocklist {

struct file_status {
    std::string path;
    std::size_t entries = 0;     // in force (the previous contents when unreadable)
    std::uint64_t malformed = 0; // bad lines skipped at the last successful read
    std::uint64_t refused = 0;   // entries beyond max_entries at the last successful read
    bool readable = true;        // the last read succeeded
};

struct load_report {
    std::vector<std::string> problems;  // "FILE:LINE: ..." or "FILE: cannot read ...", in file order
    std::vector<file_status> files;     // one per configured file, in order
    std::uint64_t errors = 0;           // malformed lines and unreadable files of this load
    std::chrono::microseconds duration{0};
};

// May throw std::bad_alloc; a reader's exception (strict modes) is reported, not thrown.
std::unique_ptr<const blocklist_set> load(const blocklist_settings& settings, const file_reader& read,
                                         const blocklist_set* previous, load_report& report);

// The entries the kernel pre-filter may drop before the queue: those that overlap no trusted,
// lan or loopback prefix. The kernel set has no zones, so an entry covering an exempt
// address stays out of it and is enforced by the engine alone, where the zones win.
std::vector<ip_prefix> kernel_members(const blocklist_set& set, const zone_defs& zones);

}  // namespace pbxgate::blocklist
