// The kernel set module without a kernel: whole-set replace through a fake backend, the
// `ipset save` line parser, and the ipset text `pbxgate rules --sets` prints.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "fake_set_backend.hpp"
#include "kernelset/ipset_backend.hpp"
#include "kernelset/kernel_set.hpp"
#include "kernelset/prefilter_sets.hpp"
#include "pbxgate/rules.hpp"

using namespace pbxgate;
using kernelset::entry;
using kernelset::status;

namespace {

ip_prefix pfx(const char* text) { return *parse_prefix(text); }

std::vector<std::string> members(const test::fake_set_backend& b, const std::string& set) {
    std::vector<std::string> out;
    for (const auto& e : b.sets.at(set).entries) out.push_back(to_string(e.prefix));
    return out;
}

}  // namespace

TEST_CASE("replace: new contents through a fresh set and one swap, counters of the old kept", "[kernelset]") {
    test::fake_set_backend b;
    const auto spec = kernelset::blocked_spec(ip_family::v4);
    REQUIRE(b.create(spec).ok());
    b.sets.at(spec.name).entries = {{pfx("192.0.2.0/24"), 0, 40, 2400}, {pfx("198.51.100.7"), 0, 2, 120}};
    b.calls.clear();

    const std::vector<entry> wanted = {{pfx("203.0.113.0/24"), 0, 0, 0}, {pfx("198.51.100.7"), 0, 0, 0}};
    kernelset::totals old;
    REQUIRE(kernelset::replace(b, spec, wanted, &old).ok());
    CHECK(members(b, spec.name) == std::vector<std::string>{"203.0.113.0/24", "198.51.100.7/32"});
    CHECK(old.packets == 42);
    CHECK(old.bytes == 2520);
    // The live set is never emptied or filled member by member: one swap, then the old goes.
    const std::vector<std::string> expected = {
        "destroy pbxgate-blocked4-n", "create pbxgate-blocked4-n", "add pbxgate-blocked4-n 203.0.113.0/24 0",
        "add pbxgate-blocked4-n 198.51.100.7/32 0", "swap pbxgate-blocked4-n pbxgate-blocked4",
        "destroy pbxgate-blocked4-n"};
    CHECK(b.calls == expected);
    CHECK(b.sets.size() == 1);
}

TEST_CASE("replace: a live set that is not installed stays absent, a failure leaves it as it was", "[kernelset]") {
    const auto spec = kernelset::blocked_spec(ip_family::v6);
    const std::vector<entry> wanted = {{pfx("2001:db8:bad::/48"), 0, 0, 0}};
    SECTION("absent") {
        test::fake_set_backend b;
        CHECK(kernelset::replace(b, spec, wanted).code == status::absent);
        CHECK(b.sets.empty());
    }
    SECTION("a failed add") {
        test::fake_set_backend b;
        REQUIRE(b.create(spec).ok());
        b.sets.at(spec.name).entries = {{pfx("2001:db8:1::/64"), 0, 0, 0}};
        b.fail_on = "add ";
        const auto o = kernelset::replace(b, spec, wanted);
        CHECK(o.code == status::failed);
        CHECK(members(b, spec.name) == std::vector<std::string>{"2001:db8:1::/64"});
        CHECK(b.sets.size() == 1);  // the half-built set is gone
    }
}

TEST_CASE("storable: hash:net cannot hold /0, so it becomes two halves", "[kernelset]") {
    struct row {
        const char* in;
        std::vector<std::string> out;
    };
    const row rows[] = {
        {"0.0.0.0/0", {"0.0.0.0/1", "128.0.0.0/1"}},
        {"::/0", {"::/1", "8000::/1"}},
        {"192.0.2.0/24", {"192.0.2.0/24"}},
        {"2001:db8::1", {"2001:db8::1/128"}},
    };
    for (const auto& r : rows) {
        INFO(r.in);
        std::vector<std::string> got;
        for (const auto& p : kernelset::storable(pfx(r.in))) got.push_back(to_string(p));
        CHECK(got == r.out);
    }
}

TEST_CASE("parse_save_line: members with timeout and counters, other lines refused", "[kernelset]") {
    struct row {
        const char* line;
        bool ok;
        const char* prefix;
        std::uint32_t timeout;
        std::uint64_t packets, bytes;
    };
    const row rows[] = {
        {"add pbxgate-ban4 192.0.2.9 timeout 117 packets 3 bytes 180", true, "192.0.2.9/32", 117, 3, 180},
        {"add pbxgate-blocked4 198.51.100.0/24 packets 0 bytes 0", true, "198.51.100.0/24", 0, 0, 0},
        {"add pbxgate-ban6 2001:db8::/32 timeout 0", true, "2001:db8::/32", 0, 0, 0},
        {"create pbxgate-ban4 hash:net family inet hashsize 1024 maxelem 65536 timeout 0 counters", false, "", 0, 0, 0},
        {"add pbxgate-ban4 not-an-address", false, "", 0, 0, 0},
        {"add pbxgate-ban4", false, "", 0, 0, 0},
        {"", false, "", 0, 0, 0},
    };
    for (const auto& r : rows) {
        INFO(r.line);
        entry e;
        REQUIRE(kernelset::parse_save_line(r.line, e) == r.ok);
        if (!r.ok) continue;
        CHECK(to_string(e.prefix) == r.prefix);
        CHECK(e.timeout_s == r.timeout);
        CHECK(e.packets == r.packets);
        CHECK(e.bytes == r.bytes);
    }
}

TEST_CASE("pbxgate rules --sets: blocked zone by swap, ban sets with timeouts, per family", "[kernelset][rules]") {
    policy pol;
    pol.zones.blocked = {pfx("198.51.100.0/24"), pfx("2001:db8:bad::/48"), pfx("0.0.0.0/0")};
    const std::string both = ipset_restore_text(pol, rules_family::both);
    for (const char* line : {"create pbxgate-blocked4 hash:net family inet counters\n",
                             "create pbxgate-blocked4-n hash:net family inet counters\n",
                             "flush pbxgate-blocked4-n\n", "add pbxgate-blocked4-n 198.51.100.0/24\n",
                             "add pbxgate-blocked4-n 0.0.0.0/1\n", "add pbxgate-blocked4-n 128.0.0.0/1\n",
                             "swap pbxgate-blocked4-n pbxgate-blocked4\n", "destroy pbxgate-blocked4-n\n",
                             "create pbxgate-ban4 hash:net family inet timeout 0 counters\n",
                             "add pbxgate-blocked6-n 2001:db8:bad::/48\n",
                             "create pbxgate-ban6 hash:net family inet6 timeout 0 counters\n"}) {
        INFO(line);
        CHECK(both.find(line) != std::string::npos);
    }
    CHECK(both.find("add pbxgate-ban") == std::string::npos);  // bans are the engine's
    const std::string v4 = ipset_restore_text(pol, rules_family::ipv4);
    CHECK(v4.find("pbxgate-blocked6") == std::string::npos);
    CHECK(v4.find("pbxgate-ban6") == std::string::npos);
    // Monitor mode drops nothing: the sets exist (the rules name them) but stay empty.
    pol.engine.mode = engine_mode::monitor;
    const std::string monitor = ipset_restore_text(pol, rules_family::both);
    CHECK(monitor.find("create pbxgate-blocked4 ") != std::string::npos);
    CHECK(monitor.find("add ") == std::string::npos);
}
