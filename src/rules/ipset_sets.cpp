// The kernel pre-filter sets for `ipset -exist restore`: created when absent, the blocked
// zone filled in through a fresh set and a swap (a rule matching the set never sees it
// half-filled), the ban sets created empty and left as they are (the engine fills them).
#include <string>

#include "kernelset/prefilter_sets.hpp"
#include "pbxgate/rules.hpp"

namespace pbxgate {

namespace {

std::string create_line(const kernelset::set_spec& spec) {
    std::string line = "create " + spec.name + " hash:net family " + (spec.family == ip_family::v4 ? "inet" : "inet6");
    if (spec.timeouts) line += " timeout 0";
    if (spec.counters) line += " counters";
    return line + "\n";
}

}  // namespace

std::string ipset_restore_text(const policy& pol, rules_family family) {
    std::string out =
        "# pbxgate kernel pre-filter sets, for `ipset -exist restore`; the steering rules match\n"
        "# them with DROP before the queue. pbxgate-blocked*: the policy's blocked zone (the\n"
        "# engine refills it at each reload); pbxgate-ban*: bans (the engine keeps them).\n";
    for (const ip_family fam : {ip_family::v4, ip_family::v6}) {
        if ((fam == ip_family::v4 && family == rules_family::ipv6) || (fam == ip_family::v6 && family == rules_family::ipv4))
            continue;
        const kernelset::set_spec live = kernelset::blocked_spec(fam);
        kernelset::set_spec fresh = live;
        fresh.name += "-n";
        out += create_line(live);
        out += create_line(fresh);
        out += "flush " + fresh.name + "\n";
        // Monitor mode drops nothing: the set stays empty and the engine logs would-drops.
        if (pol.engine.mode != engine_mode::monitor)
            for (const kernelset::entry& e : kernelset::blocked_members(pol, fam))
                out += "add " + fresh.name + " " + to_string(e.prefix) + "\n";
        out += "swap " + fresh.name + " " + live.name + "\n";
        out += "destroy " + fresh.name + "\n";
        out += create_line(kernelset::ban_spec(fam));
    }
    return out;
}

}  // namespace pbxgate
