#include "policy/port_range_lists.hpp"

#include <algorithm>

namespace pbxgate::policy_detail {

std::vector<port_range> normalized(std::vector<port_range> ports) {
    std::sort(ports.begin(), ports.end(), [](const port_range& a, const port_range& b) { return a.first < b.first; });
    std::vector<port_range> out;
    for (const auto& r : ports) {
        if (!out.empty() && r.first <= out.back().last + 1u) out.back().last = std::max(out.back().last, r.last);
        else out.push_back(r);
    }
    return out;
}

std::vector<port_range> intersection(const std::vector<port_range>& a, const std::vector<port_range>& b) {
    std::vector<port_range> out;
    std::size_t i = 0, j = 0;
    while (i < a.size() && j < b.size()) {
        const auto first = std::max(a[i].first, b[j].first);
        const auto last = std::min(a[i].last, b[j].last);
        if (first <= last) out.push_back({first, last});
        if (a[i].last < b[j].last) ++i;
        else ++j;
    }
    return out;
}

std::vector<port_range> subtract(const std::vector<port_range>& from, const std::vector<port_range>& minus) {
    std::vector<port_range> out;
    for (port_range r : from) {
        bool gone = false;
        for (const port_range& m : minus) {
            if (m.last < r.first || m.first > r.last) continue;
            if (m.first > r.first) out.push_back({r.first, static_cast<std::uint16_t>(m.first - 1)});
            if (m.last >= r.last) {
                gone = true;
                break;
            }
            r.first = static_cast<std::uint16_t>(m.last + 1);
        }
        if (!gone) out.push_back(r);
    }
    return out;
}

}  // namespace pbxgate::policy_detail
