// The compiled policy: an immutable lookup structure built once per (re)load and read by
// every worker without a lock. classify() allocates nothing, takes no lock, never throws.
// Publication to workers (RCU) lives in reload/, not here: this object knows nothing of it.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pbxgate/packet.hpp"
#include "pbxgate/policy.hpp"
#include "pbxgate/verdict.hpp"
#include "pbxgate/zone_map.hpp"

namespace pbxgate {

class compiled_policy {
public:
    // Builds the tables. Expects a validated policy (load_policy's output); may throw
    // std::bad_alloc, which is fine: compilation runs off the packet path.
    static std::unique_ptr<const compiled_policy> compile(const policy& p);

    decision classify(const packet_view& pkt, const packet_meta& meta) const noexcept;

    // The pieces of classify, exposed for explain, tests and benchmarks.
    zone zone_of(const ip_address& src, bool from_loopback_interface) const noexcept;
    service_id service_for(std::uint8_t ip_protocol, std::uint16_t dport) const noexcept;
    bool allows(service_id s, zone z) const noexcept;
    bool is_protected(const ip_address& dst) const noexcept;
    // The service's `offload` setting (flow offload, issue 8); false for no_service_id.
    bool offloads(service_id s) const noexcept { return offload_[s]; }

    std::string_view service_name(service_id s) const noexcept;  // "" for no_service_id
    std::size_t service_count() const noexcept { return names_.size() - 1; }
    const engine_settings& engine() const noexcept { return engine_; }
    const policy& source() const noexcept { return source_; }

    compiled_policy(const compiled_policy&) = delete;
    compiled_policy& operator=(const compiled_policy&) = delete;

private:
    compiled_policy() = default;

    // Direct-indexed: one load per packet whatever the number of services.
    std::array<std::array<service_id, 65536>, 2> port_to_service_{};  // [0]=tcp, [1]=udp
    std::array<zone_set, 256> allowed_zones_{};                         // service x zone matrix
    std::array<bool, 256> offload_{};                                   // service id -> offload
    zone_map zones_;
    zone_map protected_;      // router placement: destinations judged (zone::blocked = protected)
    std::vector<std::string> names_{""};  // names_[0] is "no service"
    engine_settings engine_;
    policy source_;           // kept for explain, diffs on reload and the metrics labels
};

}  // namespace pbxgate
