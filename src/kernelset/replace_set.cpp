#include "kernelset/kernel_set.hpp"

namespace pbxgate::kernelset {

totals sum(std::span<const entry> entries) noexcept {
    totals t;
    for (const entry& e : entries) {
        t.packets += e.packets;
        t.bytes += e.bytes;
    }
    return t;
}

std::vector<ip_prefix> storable(const ip_prefix& p) {
    if (p.length != 0) return {p};
    ip_prefix low{p.address, 1};
    low.address.bytes = {};
    ip_prefix high = low;
    high.address.bytes[0] = 0x80;
    return {low, high};
}

outcome replace(set_backend& sets, const set_spec& spec, std::span<const entry> members, totals* replaced) {
    // The live set is created by the rules, never here: a set no rule matches would only
    // pretend that something is being dropped.
    std::vector<entry> live;
    if (outcome o = sets.list(spec.name, live); !o.ok()) return o;

    set_spec fresh = spec;
    fresh.name = spec.name.substr(0, max_set_name - 2) + "-n";
    // A leftover from an interrupted replace is rebuilt from nothing.
    if (outcome o = sets.destroy(fresh.name); o.code == status::failed) return o;
    if (outcome o = sets.create(fresh); !o.ok()) return o;
    const auto abandon = [&](outcome why) {
        sets.destroy(fresh.name);
        return why;
    };
    for (const entry& e : members)
        for (const ip_prefix& p : storable(e.prefix))
            if (outcome o = sets.add(fresh.name, p, e.timeout_s); !o.ok()) return abandon(std::move(o));
    if (outcome o = sets.swap(fresh.name, spec.name); !o.ok()) return abandon(std::move(o));
    if (replaced) {
        // Read after the swap: no rule matches the old contents any more, so these are final.
        std::vector<entry> old;
        if (sets.list(fresh.name, old).ok()) *replaced = sum(old);
    }
    sets.destroy(fresh.name);
    return outcome::success();
}

}  // namespace pbxgate::kernelset
