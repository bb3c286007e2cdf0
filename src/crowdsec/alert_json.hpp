// pbxgate's own bans as CrowdSec alerts (POST /v1/alerts): one alert per ban, with one ban
// decision, in the shape CrowdSec's models.Alert requires.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pbxgate/address.hpp"

namespace pbxgate::crowdsec {

struct own_ban {
    ip_prefix source;
    std::string scenario;        // pbxgate/sip-scanner...
    std::string message;         // the engine's ban log line
    std::int64_t duration_s = 0;  // 0: until removed (sent as a long ban)
    std::int64_t at_unix = 0;
};

// The scenario of an own ban reason (scanner, auth_failures, request_rate); nullopt for the
// others (manual, crowdsec: never pushed, a CrowdSec decision is never sent back).
std::optional<std::string_view> scenario_for(std::string_view ban_reason) noexcept;

// RFC 3339 UTC ("2026-11-30T04:50:00Z").
std::string rfc3339(std::int64_t unix_seconds);

std::string alerts_body(const std::vector<own_ban>& bans);
std::string login_body(const std::string& login, const std::string& password);

}  // namespace pbxgate::crowdsec
