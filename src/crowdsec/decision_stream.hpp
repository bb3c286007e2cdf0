// The body of CrowdSec's GET /v1/decisions/stream: {"new": [decision...], "deleted": [...]}
// (either may be null). Only what pbxgate applies is kept: `ban` decisions of scope Ip or
// Range on an IPv4 or IPv6 address or prefix. Everything else is skipped and counted, never
// an error for the whole answer; a body that is not such an object is one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pbxgate/address.hpp"

namespace pbxgate::crowdsec {

struct decision {
    std::int64_t id = 0;
    ip_prefix target;           // scope Ip: the address as /32 or /128
    std::string origin;         // crowdsec, cscli, CAPI, lists...
    std::string scenario;
    std::int64_t duration_s = 0;  // seconds left (the stream's Go duration, rounded up; <= 0: expired)
    friend bool operator==(const decision&, const decision&) = default;
};

struct skipped_counts {
    std::uint64_t other_type = 0;   // captcha, throttle...: pbxgate only bans
    std::uint64_t other_scope = 0;  // Country, AS, Username...
    std::uint64_t malformed = 0;    // a decision with a missing or bad field
    std::uint64_t over_limit = 0;   // past max_decisions
    std::uint64_t total() const noexcept { return other_type + other_scope + malformed + over_limit; }
};

struct stream_delta {
    std::vector<decision> added;
    std::vector<decision> deleted;
    skipped_counts skipped;
};

struct stream_parse_result {
    std::optional<stream_delta> delta;
    std::string error;  // when delta is empty
};

// At most `max_decisions` of `new` and of `deleted` each are kept (the rest counted).
stream_parse_result parse_decision_stream(std::string_view body, std::size_t max_decisions);

// A Go time.Duration text ("3h59m58.5s", "-1m2s", "300ms") in whole seconds, rounded up.
std::optional<std::int64_t> parse_go_duration(std::string_view text) noexcept;

}  // namespace pbxgate::crowdsec
