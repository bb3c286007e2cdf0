// Per-reason drop log limits: a limited reason gets its lines per second and no more,
// unlimited reasons always pass, the suppressed count is exact, and limits can change.
#include <catch2/catch.hpp>

#include "engine/reason_log_budget.hpp"

using namespace pbxgate;
using namespace std::chrono_literals;

TEST_CASE("reason budget: lines per second per reason", "[metrics][log]") {
    struct row {
        const char* what;
        std::vector<std::pair<reason, std::uint32_t>> limits;
        reason why;
        int offered;         // lines offered within one second
        int passed;          // expected to pass
    };
    const std::vector<row> rows = {
        {"limited reason", {{reason::zone_not_allowed, 5}}, reason::zone_not_allowed, 50, 5},
        {"unlimited reason beside a limited one", {{reason::zone_not_allowed, 5}}, reason::blocked, 50, 50},
        {"silenced reason", {{reason::blocked, 0}}, reason::blocked, 10, 0},
        {"no limits at all", {}, reason::malformed, 30, 30},
    };
    for (const auto& r : rows) {
        INFO(r.what);
        reason_log_budget b;
        b.set_limits(r.limits);
        const auto t0 = reason_log_budget::clock::time_point{} + 100s;
        int passed = 0;
        for (int i = 0; i < r.offered; ++i) passed += b.take(r.why, t0 + i * 1ms);
        CHECK(passed == r.passed);
        CHECK(b.take_suppressed() == static_cast<std::uint64_t>(r.offered - r.passed));
        CHECK(b.take_suppressed() == 0);
        // A second later the bucket is full again.
        if (r.passed > 0 && r.passed < r.offered) CHECK(b.take(r.why, t0 + 1100ms));
    }
}

TEST_CASE("reason budget: a reload that lifts a limit lifts it at once", "[metrics][log]") {
    reason_log_budget b;
    b.set_limits({{reason::zone_not_allowed, 1}});
    const auto t0 = reason_log_budget::clock::time_point{} + 100s;
    CHECK(b.take(reason::zone_not_allowed, t0));
    CHECK_FALSE(b.take(reason::zone_not_allowed, t0));
    b.set_limits({});
    CHECK(b.take(reason::zone_not_allowed, t0));
}
