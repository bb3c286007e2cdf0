// Kernel address sets (ipset hash:net) behind an interface: the kernel pre-filter drops
// sources in these sets before the queue, so a flood from them never costs the engine a
// packet. The engine changes them from its main thread only, never from a worker.
//
// The interface is what the unit tests fake; ipset_backend.hpp is the libipset one.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pbxgate/address.hpp"

namespace pbxgate::kernelset {

// The kernel's limit on a set name (IPSET_MAXNAMELEN - 1).
inline constexpr std::size_t max_set_name = 31;

struct set_spec {
    std::string name;
    ip_family family = ip_family::v4;
    bool timeouts = false;  // entries may carry a timeout (default 0: never expires)
    bool counters = true;   // per-entry packet and byte counters
    std::uint32_t max_elements = 0;  // ipset's maxelem; 0: ipset's default (65536)
};

struct entry {
    ip_prefix prefix;
    std::uint32_t timeout_s = 0;  // seconds left; 0: never expires (or the set has no timeouts)
    std::uint64_t packets = 0;    // what the entry matched (sets with counters)
    std::uint64_t bytes = 0;
};

enum class status : std::uint8_t {
    ok,
    absent,  // the set does not exist (the rules are not installed): nothing was changed
    failed,  // message says why (no ipset support in the kernel, not permitted, ...)
};

struct outcome {
    status code = status::ok;
    std::string message;
    bool ok() const noexcept { return code == status::ok; }
    static outcome success() { return {}; }
};

// ipset's own timeout limit: a longer one is capped (a ban sync re-adds it later).
inline constexpr std::uint32_t max_timeout_s = 2147483;

class set_backend {
public:
    virtual ~set_backend() = default;
    // Creates the set; one that exists already with the same type is fine.
    virtual outcome create(const set_spec& spec) = 0;
    // absent when there is no such set.
    virtual outcome destroy(std::string_view name) = 0;
    // Exchanges the contents of two sets of the same type and family, atomically: a rule
    // matching either name sees the old or the new contents, never a mix.
    virtual outcome swap(std::string_view a, std::string_view b) = 0;
    // Adds a member, or when present sets its timeout anew (0: never expires).
    virtual outcome add(std::string_view set, const ip_prefix& member, std::uint32_t timeout_s) = 0;
    // Removes a member; one that is not there is fine.
    virtual outcome remove(std::string_view set, const ip_prefix& member) = 0;
    // Every member with its timeout left and counters.
    virtual outcome list(std::string_view set, std::vector<entry>& out) = 0;
};

struct totals {
    std::uint64_t packets = 0;
    std::uint64_t bytes = 0;
};
totals sum(std::span<const entry> entries) noexcept;

// Replaces the whole contents of the live set `spec.name` atomically: builds a new set
// beside it, swaps, destroys the old contents. A live set that does not exist is left
// absent (status absent: the rules that would create and match it are not installed).
// `replaced`, when given, receives the counters of the contents swapped out.
outcome replace(set_backend& sets, const set_spec& spec, std::span<const entry> members,
                totals* replaced = nullptr);

// hash:net cannot hold a /0: it becomes its two halves.
std::vector<ip_prefix> storable(const ip_prefix& p);

}  // namespace pbxgate::kernelset
