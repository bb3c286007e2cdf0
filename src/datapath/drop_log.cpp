#include "datapath/drop_log.hpp"

#include <netinet/in.h>

#include "util/flow_hash.hpp"

namespace pbxgate {

bool drop_ring::push(const drop_record& r) noexcept {
    const std::size_t head = head_.load(std::memory_order_relaxed);
    if (head - tail_.load(std::memory_order_acquire) == capacity) return false;
    slots_[head & (capacity - 1)] = r;
    head_.store(head + 1, std::memory_order_release);
    return true;
}

bool drop_ring::pop(drop_record& out) noexcept {
    const std::size_t tail = tail_.load(std::memory_order_relaxed);
    if (tail == head_.load(std::memory_order_acquire)) return false;
    out = slots_[tail & (capacity - 1)];
    tail_.store(tail + 1, std::memory_order_release);
    return true;
}

bool recent_flows::should_log(const drop_record& r, std::uint64_t now_s, std::uint64_t window_s) noexcept {
    const std::uint64_t key = flow_hash(r.src, r.dst, r.sport, r.dport, r.protocol);
    slot& s = slots_[key & (slots_.size() - 1)];
    if (s.key == key && now_s - s.when < window_s) return false;
    s = {key, now_s};
    return true;
}

std::string format_drop(const drop_record& r, std::string_view service_name) {
    std::string proto;
    switch (r.protocol) {
        case IPPROTO_TCP: proto = "tcp"; break;
        case IPPROTO_UDP: proto = "udp"; break;
        case IPPROTO_ICMP: proto = "icmp"; break;
        case IPPROTO_ICMPV6: proto = "icmpv6"; break;
        default: proto = "proto " + std::to_string(r.protocol);
    }
    auto endpoint = [&](const ip_address& a, std::uint16_t port) {
        std::string s = a.family == ip_family::v6 ? "[" + to_string(a) + "]" : to_string(a);
        if (r.protocol == IPPROTO_TCP || r.protocol == IPPROTO_UDP) s += ":" + std::to_string(port);
        return s;
    };
    std::string line = proto + " " + endpoint(r.src, r.sport) + " -> " + endpoint(r.dst, r.dport) +
                       " zone " + std::string(to_string(r.from)) + " service " +
                       (service_name.empty() ? std::string("none") : std::string(service_name)) + ": " +
                       (r.monitor ? "would drop" : "drop") + " (" + std::string(to_string(r.why));
    if (r.why == reason::malformed) line += ", " + std::string(to_string(r.error));
    return line + ")";
}

std::string format_ban(const protect::ban_event& e) {
    std::string line = std::string(e.monitor ? "would ban " : "ban ") + to_string(e.source) + " reason " +
                       std::string(protect::to_string(e.why)) + " (";
    switch (e.why) {
        case protect::ban_reason::scanner:
            line += "scanner signature \"" + std::string(e.evidence.data()) + "\"";
            break;
        case protect::ban_reason::auth_failures:
            line += std::to_string(e.count) + " failures in " + std::to_string(e.window_s) + " s, last status " +
                    std::to_string(e.status);
            break;
        case protect::ban_reason::request_rate:
            line += std::to_string(e.count) + " requests in " + std::to_string(e.window_s) + " s";
            break;
        default:
            line += "admin";
    }
    line += ") for ";
    line += e.duration_s == 0 ? std::string("ever") : std::to_string(e.duration_s) + " s";
    return line;
}

}  // namespace pbxgate
