#include "protect/ban_set_sync.hpp"

#include <algorithm>

namespace pbxgate::protect {

namespace {

std::uint32_t seconds_left(const ban_view& b, std::int64_t now_unix) {
    if (b.expires_unix == 0) return 0;
    const std::int64_t left = b.expires_unix - now_unix;
    return static_cast<std::uint32_t>(std::clamp<std::int64_t>(left, 1, kernelset::max_timeout_s));
}

bool timeout_off(std::uint32_t kernel, std::uint32_t wanted) {
    if ((kernel == 0) != (wanted == 0)) return true;  // permanent one side only
    const std::uint32_t diff = kernel > wanted ? kernel - wanted : wanted - kernel;
    return diff > ban_timeout_slack_s;
}

}  // namespace

ban_plan plan_ban_changes(const std::vector<ban_view>& bans, const std::vector<kernelset::entry>& kernel,
                          ip_family family, std::int64_t now_unix) {
    ban_plan plan;
    std::vector<ban_change> wanted;
    for (const ban_view& b : bans) {
        if (b.source.address.family != family) continue;
        if (b.expires_unix != 0 && b.expires_unix <= now_unix) continue;
        const std::uint32_t left = seconds_left(b, now_unix);
        for (const ip_prefix& p : kernelset::storable(b.source)) {
            const auto dup = std::find_if(wanted.begin(), wanted.end(), [&](const ban_change& c) { return c.source == p; });
            if (dup == wanted.end()) wanted.push_back({p, left});
            // Two bans of one prefix: the longer one holds (0 is the longest).
            else if (dup->timeout_s != 0 && (left == 0 || left > dup->timeout_s)) dup->timeout_s = left;
        }
    }
    for (const ban_change& w : wanted) {
        const auto in = std::find_if(kernel.begin(), kernel.end(),
                                     [&](const kernelset::entry& e) { return e.prefix == w.source; });
        if (in == kernel.end() || timeout_off(in->timeout_s, w.timeout_s)) plan.add.push_back(w);
    }
    for (const kernelset::entry& e : kernel) {
        const bool still = std::any_of(wanted.begin(), wanted.end(),
                                       [&](const ban_change& w) { return w.source == e.prefix; });
        if (!still) plan.remove.push_back(e.prefix);
    }
    return plan;
}

ban_sync_report ban_set_sync::sync(std::int64_t now_unix) {
    ban_sync_report report;
    const std::vector<ban_view> bans = bans_.list_bans(now_unix);
    const auto note = [&](const kernelset::outcome& o) {
        if (!o.ok() && report.error.empty()) report.error = o.message;
    };
    for (const ip_family family : {ip_family::v4, ip_family::v6}) {
        const std::string_view name = kernelset::ban_set(family);
        std::vector<kernelset::entry> kernel;
        const kernelset::outcome listed = sets_.list(name, kernel);
        if (listed.code == kernelset::status::absent) {
            report.sets_absent = true;
            continue;
        }
        if (!listed.ok()) {
            note(listed);
            continue;
        }
        const ban_plan plan = plan_ban_changes(bans, kernel, family, now_unix);
        for (const ban_change& c : plan.add) {
            const kernelset::outcome o = sets_.add(name, c.source, c.timeout_s);
            note(o);
            report.added += o.ok();
        }
        for (const ip_prefix& p : plan.remove) {
            const kernelset::outcome o = sets_.remove(name, p);
            note(o);
            report.removed += o.ok();
        }
    }
    return report;
}

}  // namespace pbxgate::protect
