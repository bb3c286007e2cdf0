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
#include "pbxgate/prefix_set.hpp"
#include "pbxgate/verdict.hpp"
#include "pbxgate/zone_map.hpp"

namespace pbxgate {

class compiled_policy {
public:
    // Builds the tables. Expects a validated policy (load_policy's output); may throw
    // std::bad_alloc, which is fine: compilation runs off the packet path.
    // With `previous` (a reload), service ids are stable across generations: a service that
    // `previous` knows (by name, even one removed earlier) keeps its id, and a new one takes
    // an id never used before, so per-service counters and drop-log names indexed by id stay
    // right across reloads. Only when all 255 ids have been used is a retired id reused.
    static std::unique_ptr<const compiled_policy> compile(const policy& p, const compiled_policy* previous = nullptr);

    decision classify(const packet_view& pkt, const packet_meta& meta) const noexcept;

    // The pieces of classify, exposed for explain, tests and benchmarks.
    zone zone_of(const ip_address& src, const packet_meta& meta) const noexcept;
    service_id service_for(std::uint8_t ip_protocol, std::uint16_t dport) const noexcept;
    bool allows(service_id s, zone z) const noexcept;
    bool is_protected(const ip_address& dst) const noexcept;
    // The service's `offload` setting (flow offload); false for no_service_id.
    bool offloads(service_id s) const noexcept { return offload_[s]; }
    // SIP protection: which services carry SIP the engine reads ([sip] services) and which
    // carry encrypted SIP whose connection attempts it counts ([sip] encrypted_services).
    enum class sip_kind : std::uint8_t { none, readable, encrypted };
    sip_kind sip_kind_of(service_id s) const noexcept { return sip_kind_[s]; }
    bool sip_enabled() const noexcept { return source_.sip.enabled; }
    // Media pinholes: the zones from which this service's packets need a pinhole (its
    // `media = "negotiated"` and [media] zones); 0 for an open service.
    zone_set media_zones(service_id s) const noexcept { return media_zones_[s]; }
    bool any_negotiated_media() const noexcept {
        for (const zone_set z : media_zones_)
            if (z != 0) return true;
        return false;
    }

    // "" for no_service_id and ids never assigned. A retired id (its service was removed by
    // a reload) keeps its last name, so counters gathered before the removal stay labelled.
    std::string_view service_name(service_id s) const noexcept;
    // Enabled services. Without a previous generation their ids are 1..service_count();
    // after reloads ids may have gaps: iterate 1..service_id_limit()-1 and test is_active().
    std::size_t service_count() const noexcept { return active_count_; }
    std::size_t service_id_limit() const noexcept { return names_.size(); }
    bool is_active(service_id s) const noexcept { return s < names_.size() && active_[s]; }
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
    std::array<sip_kind, 256> sip_kind_{};                              // service id -> SIP reading
    std::array<zone_set, 256> media_zones_{};                           // service id -> pinhole zones
    zone_map zones_;
    prefix_set protected_;    // router placement: the destinations judged
    std::vector<std::string> names_{""};  // names_[0] is "no service"; retired ids keep their name
    std::array<bool, 256> active_{};      // ids of the enabled services
    std::size_t active_count_ = 0;
    engine_settings engine_;
    policy source_;           // kept for explain, diffs on reload and the metrics labels
};

}  // namespace pbxgate
