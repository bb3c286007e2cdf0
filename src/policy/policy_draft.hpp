// The policy while files are being merged: the values so far, plus where they came
// from and which of them were refused, so the checks after merging can point at the
// right line and stay quiet about values whose own error was already reported.
#pragma once

#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "pbxgate/policy.hpp"

namespace pbxgate::policy_detail {

// Orders definitions across files: the file applied later (the extending one) wins,
// then line and column. Used to blame the later of two overlapping services.
struct definition_order {
    unsigned file_rank = 0;  // 0 = the deepest base file
    std::uint32_t line = 0;
    std::uint32_t column = 0;
    friend auto operator<=>(const definition_order&, const definition_order&) = default;
};

struct service_draft {
    service_def def;
    bool has_proto = false;
    bool has_ports = false;
    bool proto_broken = false;   // the last `proto` given had an error (already reported)
    bool ports_broken = false;   // the same for `ports`
    source_location ports_at;    // the `ports` value that set def.ports
    definition_order ports_order;
};

struct policy_draft {
    std::vector<service_draft> services;  // base order, then new services in file order
    zone_defs zones;
    engine_settings engine;
    sip_settings sip;
    media_settings media;
    // Where each [sip] service list named a service, to report a name no service has.
    std::vector<std::pair<std::string, source_location>> sip_service_refs;
    source_location placement_at;  // the `placement` key that set engine.place
    asterisk_settings asterisk;
    source_location asterisk_import_at;  // the `import` key that set asterisk.import
    bool protected_broken = false;
};

// Collects diagnostics; never throws on its own beyond allocation.
struct diagnostics {
    std::vector<diagnostic> list;
    void error(source_location where, std::string message) {
        list.push_back(diagnostic{std::move(where), std::move(message)});
    }
};

}  // namespace pbxgate::policy_detail
