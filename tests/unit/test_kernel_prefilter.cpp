// The engine's side of the kernel pre-filter, with a fake set backend: the blocked sets
// follow each policy, the sets' counters add up to a total that never goes back (across
// swaps, lifted bans and sets recreated from outside), and they count as drops of reason
// blocked in the stats.
#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <string>

#include "engine/kernel_prefilter.hpp"
#include "metrics/stats_report.hpp"
#include "fake_set_backend.hpp"
#include "kernelset/prefilter_sets.hpp"

using namespace pbxgate;

namespace {

ip_prefix pfx(const char* text) { return *parse_prefix(text); }

policy blocking(std::initializer_list<const char*> prefixes) {
    policy pol;
    for (const char* p : prefixes) pol.zones.blocked.push_back(pfx(p));
    return pol;
}

}  // namespace

TEST_CASE("kernel_prefilter: blocked sets refilled per policy, drops counted monotonically", "[kernelset][engine]") {
    auto owned = std::make_unique<test::fake_set_backend>();
    test::fake_set_backend& sets = *owned;
    for (const ip_family f : {ip_family::v4, ip_family::v6}) {
        REQUIRE(sets.create(kernelset::blocked_spec(f)).ok());
        REQUIRE(sets.create(kernelset::ban_spec(f)).ok());
    }
    kernel_prefilter pf(std::move(owned));
    auto t = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
    const auto tick = [&] {
        t += kernel_prefilter::period;
        pf.tick(t, 1'800'000'000);
    };

    pf.apply_blocked(blocking({"203.0.113.200", "2001:db8:3::/64"}), false);
    REQUIRE(sets.sets.at("pbxgate-blocked4").entries.size() == 1);
    REQUIRE(sets.sets.at("pbxgate-blocked6").entries.size() == 1);
    CHECK(pf.dropped_packets() == 0);

    sets.sets.at("pbxgate-blocked4").entries[0].packets = 100;
    sets.sets.at("pbxgate-ban4").entries = {{pfx("192.0.2.9"), 60, 7, 0}};
    tick();
    CHECK(pf.dropped_packets() == 107);

    // A reload swaps the blocked contents: the old contents' 100 packets stay counted.
    pf.apply_blocked(blocking({"198.51.100.0/24"}), false);
    CHECK(sets.sets.at("pbxgate-blocked4").entries.size() == 1);
    CHECK(to_string(sets.sets.at("pbxgate-blocked4").entries[0].prefix) == "198.51.100.0/24");
    CHECK(sets.sets.at("pbxgate-blocked6").entries.empty());
    tick();
    CHECK(pf.dropped_packets() == 107);

    // A lifted ban takes its counter with it; the total does not go back.
    sets.sets.at("pbxgate-ban4").entries.clear();
    sets.sets.at("pbxgate-blocked4").entries[0].packets = 5;
    tick();
    CHECK(pf.dropped_packets() == 112);

    engine_status s;
    s.counters.packets = 10;
    s.counters.dropped = 10;
    s.counters.by_reason[static_cast<unsigned>(reason::blocked)] = 2;
    add_prefilter_drops(s, pf.dropped_packets(), 6720);
    CHECK(s.prefilter_dropped == 112);
    CHECK(s.counters.packets == 122);  // totals still add up: packets == accept + drop
    CHECK(s.counters.dropped == 122);
    CHECK(s.counters.bytes == 6720);
    CHECK(s.counters.by_reason[static_cast<unsigned>(reason::blocked)] == 114);
    CHECK(s.counters.packets_by[no_service_id][static_cast<unsigned>(zone::blocked)][1] == 112);
}

TEST_CASE("kernel_prefilter: sets not installed are left alone", "[kernelset][engine]") {
    auto owned = std::make_unique<test::fake_set_backend>();
    test::fake_set_backend& sets = *owned;
    kernel_prefilter pf(std::move(owned));
    pf.apply_blocked(blocking({"203.0.113.200"}), false);
    CHECK(sets.sets.empty());  // never created by the engine: no rule would match them
    CHECK(pf.dropped_packets() == 0);
}

TEST_CASE("kernel_prefilter: monitor mode drops nothing, blocked and ban sets emptied", "[kernelset][engine]") {
    auto owned = std::make_unique<test::fake_set_backend>();
    test::fake_set_backend& sets = *owned;
    for (const ip_family f : {ip_family::v4, ip_family::v6}) {
        REQUIRE(sets.create(kernelset::blocked_spec(f)).ok());
        REQUIRE(sets.create(kernelset::ban_spec(f)).ok());
    }
    sets.sets.at("pbxgate-blocked4").entries = {{pfx("203.0.113.200"), 0, 0, 0}};
    sets.sets.at("pbxgate-ban4").entries = {{pfx("192.0.2.9"), 60, 0, 0}};
    kernel_prefilter pf(std::move(owned));
    pf.apply_blocked(blocking({"203.0.113.200"}), true);
    CHECK(sets.sets.at("pbxgate-blocked4").entries.empty());
    pf.tick(std::chrono::steady_clock::time_point{} + std::chrono::hours(1), 1'800'000'000);
    CHECK(sets.sets.at("pbxgate-ban4").entries.empty());
    // Back to enforce: the blocked zone is in the set again.
    pf.apply_blocked(blocking({"203.0.113.200"}), false);
    CHECK(sets.sets.at("pbxgate-blocked4").entries.size() == 1);
}
