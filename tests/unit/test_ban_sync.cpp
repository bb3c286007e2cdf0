// The ban set sync: the kernel ban sets follow the ban table (adds with the time left,
// deletes of lifted bans, timeouts set anew when they drift), with a fake ban table and a
// fake set backend.
#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

#include "fake_set_backend.hpp"
#include "kernelset/prefilter_sets.hpp"
#include "protect/ban_admin.hpp"
#include "protect/ban_set_sync.hpp"

using namespace pbxgate;
using protect::ban_view;

namespace {

ip_prefix pfx(const char* text) { return *parse_prefix(text); }

constexpr std::int64_t now = 1'800'000'000;

ban_view ban(const char* source, std::int64_t expires) {
    ban_view b;
    b.source = pfx(source);
    b.reason = "scanner";
    b.since_unix = now - 10;
    b.expires_unix = expires;
    return b;
}

class fake_bans final : public protect::ban_admin {
public:
    std::vector<ban_view> bans;
    std::vector<ban_view> list_bans(std::int64_t) const override { return bans; }
    std::string add_ban(const ip_prefix& source, std::int64_t duration_s, const std::string& reason,
                        std::int64_t now_unix) override {
        ban_view b;
        b.source = source;
        b.reason = reason;
        b.since_unix = now_unix;
        b.expires_unix = duration_s ? now_unix + duration_s : 0;
        bans.push_back(b);
        return {};
    }
    bool remove_ban(const ip_prefix& source) override {
        return std::erase_if(bans, [&](const ban_view& b) { return b.source == source; }) > 0;
    }
    std::size_t flush_bans() override { return std::exchange(bans, {}).size(); }
};

std::string text(const std::vector<protect::ban_change>& v) {
    std::string out;
    for (const auto& c : v) out += to_string(c.source) + "=" + std::to_string(c.timeout_s) + " ";
    return out;
}

std::string text(const std::vector<ip_prefix>& v) {
    std::string out;
    for (const auto& p : v) out += to_string(p) + " ";
    return out;
}

}  // namespace

TEST_CASE("plan_ban_changes: the kernel set becomes the ban table", "[bans][kernelset]") {
    struct row {
        const char* what;
        std::vector<ban_view> bans;
        std::vector<kernelset::entry> kernel;
        std::string add, remove;
    };
    const row rows[] = {
        {"nothing either side", {}, {}, "", ""},
        {"a new ban: added with the time left", {ban("192.0.2.9", now + 600)}, {}, "192.0.2.9/32=600 ", ""},
        {"a ban until removed: timeout 0", {ban("198.51.100.0/24", 0)}, {}, "198.51.100.0/24=0 ", ""},
        {"in step: nothing to do", {ban("192.0.2.9", now + 600)}, {{pfx("192.0.2.9"), 598, 0, 0}}, "", ""},
        {"lifted: deleted", {}, {{pfx("192.0.2.9"), 300, 7, 420}}, "", "192.0.2.9/32 "},
        {"expired in the table: not added, deleted", {ban("192.0.2.9", now)}, {{pfx("192.0.2.9"), 1, 0, 0}}, "",
         "192.0.2.9/32 "},
        {"extended: timeout set anew", {ban("192.0.2.9", now + 3600)}, {{pfx("192.0.2.9"), 100, 0, 0}},
         "192.0.2.9/32=3600 ", ""},
        {"made permanent: timeout set anew", {ban("192.0.2.9", 0)}, {{pfx("192.0.2.9"), 100, 0, 0}}, "192.0.2.9/32=0 ",
         ""},
        {"the other family is not this set's", {ban("2001:db8::1", now + 60)}, {}, "", ""},
        {"two bans of one source: the longer holds", {ban("192.0.2.9", now + 60), ban("192.0.2.9", now + 900)}, {},
         "192.0.2.9/32=900 ", ""},
        {"longer than ipset allows: capped", {ban("192.0.2.9", now + 10'000'000)}, {}, "192.0.2.9/32=2147483 ", ""},
        {"everything: /0 in halves", {ban("0.0.0.0/0", 0)}, {}, "0.0.0.0/1=0 128.0.0.0/1=0 ", ""},
    };
    for (const auto& r : rows) {
        INFO(r.what);
        const auto plan = protect::plan_ban_changes(r.bans, r.kernel, ip_family::v4, now);
        CHECK(text(plan.add) == r.add);
        CHECK(text(plan.remove) == r.remove);
    }
}

TEST_CASE("ban_set_sync: adds, deletes, both families, and says when the sets are missing", "[bans][kernelset]") {
    fake_bans bans;
    test::fake_set_backend sets;
    protect::ban_set_sync sync(bans, sets);

    SECTION("sets not installed: nothing changed, reported") {
        bans.add_ban(pfx("192.0.2.9"), 600, "manual", now);
        const auto r = sync.sync(now);
        CHECK(r.sets_absent);
        CHECK(r.error.empty());
        CHECK(r.added == 0);
    }
    SECTION("in step after each change of the table") {
        for (const ip_family f : {ip_family::v4, ip_family::v6}) REQUIRE(sets.create(kernelset::ban_spec(f)).ok());
        bans.add_ban(pfx("192.0.2.9"), 600, "scanner", now);
        bans.add_ban(pfx("2001:db8:5::/48"), 0, "manual", now);
        auto r = sync.sync(now);
        CHECK(r.added == 2);
        CHECK(r.removed == 0);
        REQUIRE(sets.sets.at("pbxgate-ban4").entries.size() == 1);
        CHECK(sets.sets.at("pbxgate-ban4").entries[0].timeout_s == 600);
        REQUIRE(sets.sets.at("pbxgate-ban6").entries.size() == 1);
        CHECK(sets.sets.at("pbxgate-ban6").entries[0].timeout_s == 0);

        // A second sync with nothing changed touches nothing.
        sets.calls.clear();
        r = sync.sync(now + 1);
        CHECK(r.added + r.removed == 0);
        CHECK(sets.calls.empty());

        bans.remove_ban(pfx("192.0.2.9"));
        r = sync.sync(now + 2);
        CHECK(r.removed == 1);
        CHECK(sets.sets.at("pbxgate-ban4").entries.empty());
        CHECK(sets.sets.at("pbxgate-ban6").entries.size() == 1);
    }
    SECTION("a failing kernel is reported, not thrown") {
        for (const ip_family f : {ip_family::v4, ip_family::v6}) REQUIRE(sets.create(kernelset::ban_spec(f)).ok());
        sets.fail_on = "add pbxgate-ban4";
        bans.add_ban(pfx("192.0.2.9"), 600, "scanner", now);
        const auto r = sync.sync(now);
        CHECK(r.added == 0);
        CHECK(r.error == "injected failure");
    }
}
