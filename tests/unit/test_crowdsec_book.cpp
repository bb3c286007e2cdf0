// Applying CrowdSec decisions to the real ban table (sip_guard): bans with reason crowdsec
// and the decision's origin and scenario, lifts, zones never overridden, own bans kept,
// ranges expanded or refused, capacity and evictions, the state file, credentials, backoff.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <fstream>
#include <string>

#include "crowdsec/backoff.hpp"
#include "crowdsec/credentials.hpp"
#include "crowdsec/decision_book.hpp"
#include "protect/sip_guard.hpp"
#include "temp_dir.hpp"

using namespace pbxgate;
using namespace pbxgate::crowdsec;

namespace {

constexpr std::int64_t now = 1'800'000'000;

crowdsec::decision dec(std::int64_t id, const char* target, std::int64_t duration = 3600, const char* scenario = "s") {
    crowdsec::decision d;
    d.id = id;
    d.target = *parse_prefix(target);
    d.origin = "cscli";
    d.scenario = scenario;
    d.duration_s = duration;
    return d;
}

// 192.0.2.0/25 trusted, 192.0.2.128/25 lan, 127.0.0.0/8 localhost, the rest internet.
zone test_zone(const ip_address& a) {
    if (a.family == ip_family::v4) {
        const std::uint32_t v = a.v4_host();
        if ((v >> 24) == 127) return zone::localhost;
        if ((v >> 8) == 0xc00002) return (v & 0x80) ? zone::lan : zone::trusted;
    }
    return zone::internet;
}

struct rig {
    protect::sip_guard guard{4096, 32, 64, [] { return protect::seconds_t{1000}; }};
    decision_book book{32, 64, 4096};
    std::vector<book_event> apply(std::vector<crowdsec::decision> added, std::vector<crowdsec::decision> deleted = {}, bool full = false) {
        stream_delta d;
        d.added = std::move(added);
        d.deleted = std::move(deleted);
        return book.apply(d, full, guard, &test_zone, now);
    }
    std::optional<protect::ban_view> ban(const char* source) { return guard.find_ban(*parse_prefix(source), now); }
};

}  // namespace

TEST_CASE("crowdsec book: a ban decision bans with reason crowdsec, origin and scenario; delete lifts") {
    rig r;
    const auto events = r.apply({dec(1, "198.51.100.7/32", 600, "pbxgate/sip-scanner")});
    REQUIRE(events.size() == 1);
    CHECK(events[0].banned);
    const auto b = r.ban("198.51.100.7/32");
    REQUIRE(b);
    CHECK(b->reason == "crowdsec");
    CHECK(b->origin == "cscli");
    CHECK(b->scenario == "pbxgate/sip-scanner");
    CHECK(b->expires_unix == now + 600);
    CHECK(r.book.active(now) == 1);
    // Shown by list_bans (`pbxgate bans list`) too.
    const auto all = r.guard.list_bans(now);
    REQUIRE(all.size() == 1);
    CHECK(all[0].scenario == "pbxgate/sip-scanner");

    // A deleted decision of another id leaves it; its own id lifts it.
    r.apply({}, {dec(2, "198.51.100.7/32", -1)});
    CHECK(r.ban("198.51.100.7/32"));
    const auto lifted = r.apply({}, {dec(1, "198.51.100.7/32", -1)});
    REQUIRE(lifted.size() == 1);
    CHECK_FALSE(lifted[0].banned);
    CHECK_FALSE(r.ban("198.51.100.7/32"));
    CHECK(r.book.active(now) == 0);
    CHECK(r.book.counts().lifted == 1);
}

TEST_CASE("crowdsec book: trusted, lan and localhost are never banned") {
    struct row {
        const char* target;
        std::uint64_t banned;
        std::uint64_t protected_sources;
    };
    const row rows[] = {
        {"192.0.2.1/32", 0, 1},      // trusted
        {"192.0.2.200/32", 0, 1},    // lan
        {"127.0.0.1/32", 0, 1},      // localhost
        {"192.0.2.124/30", 0, 4},    // a range across trusted only
        {"192.0.2.0/24", 0, 256},    // the whole /24: trusted and lan
        {"198.51.100.9/32", 1, 0},   // internet
        {"198.51.100.0/30", 4, 0},   // a range of four sources
    };
    for (const row& t : rows) {
        INFO(t.target);
        rig r;
        r.apply({dec(1, t.target)});
        CHECK(r.book.active(now) == t.banned);
        CHECK(r.book.counts().protected_zone == t.protected_sources);
    }
}

TEST_CASE("crowdsec book: ranges become the ban table's sources, too broad ones are refused") {
    rig r;
    r.apply({dec(1, "203.0.113.0/24"), dec(2, "2001:db8:7::/63"), dec(3, "2001:db8:8:1::5/128"), dec(4, "198.51.0.0/16"),
             dec(5, "2001:db8::/32")});
    CHECK(r.ban("203.0.113.0/32"));
    CHECK(r.ban("203.0.113.255/32"));
    CHECK(r.ban("2001:db8:7::/64"));
    CHECK(r.ban("2001:db8:7:1::/64"));
    CHECK(r.ban("2001:db8:8:1::/64"));  // an IPv6 address bans its /64, as pbxgate's own bans do
    CHECK(r.book.active(now) == 256 + 2 + 1);
    CHECK(r.book.counts().too_broad == 2);
    // Deleting the range lifts all its sources.
    r.apply({}, {dec(1, "203.0.113.0/24", -1)});
    CHECK_FALSE(r.ban("203.0.113.0/32"));
    CHECK(r.book.active(now) == 3);
}

TEST_CASE("crowdsec book: pbxgate's own and the admin's bans are never replaced nor lifted") {
    rig r;
    REQUIRE(r.guard.add_ban(*parse_prefix("198.51.100.7/32"), 86400, "scanner", now).empty());
    r.apply({dec(1, "198.51.100.7/32", 60)});
    CHECK(r.ban("198.51.100.7/32")->reason == "scanner");
    CHECK(r.book.counts().own_ban == 1);
    r.apply({}, {dec(1, "198.51.100.7/32", -1)});
    CHECK(r.ban("198.51.100.7/32")->reason == "scanner");

    // A CrowdSec ban the admin then bans by hand stays the admin's when the decision goes.
    r.apply({dec(2, "198.51.100.8/32")});
    REQUIRE(r.guard.add_ban(*parse_prefix("198.51.100.8/32"), 0, "manual", now).empty());
    r.apply({}, {dec(2, "198.51.100.8/32", -1)});
    REQUIRE(r.ban("198.51.100.8/32"));
    CHECK(r.ban("198.51.100.8/32")->reason == "manual");
}

TEST_CASE("crowdsec book: a startup answer is the whole truth") {
    rig r;
    r.apply({dec(1, "198.51.100.1/32"), dec(2, "198.51.100.2/32")});
    r.apply({dec(2, "198.51.100.2/32"), dec(3, "198.51.100.3/32")}, {}, true);
    CHECK_FALSE(r.ban("198.51.100.1/32"));
    CHECK(r.ban("198.51.100.2/32"));
    CHECK(r.ban("198.51.100.3/32"));
    // Expired decisions listed beside a running one for the same source: deleted first.
    r.apply({dec(5, "198.51.100.4/32")}, {dec(4, "198.51.100.4/32", -5)}, true);
    CHECK(r.ban("198.51.100.4/32"));
}

TEST_CASE("crowdsec book: bounded by capacity, the soonest to expire evicted and counted") {
    protect::sip_guard guard{4096, 32, 64, [] { return protect::seconds_t{1000}; }};
    decision_book book{32, 64, 3};
    stream_delta d;
    d.added = {dec(1, "198.51.100.1/32", 100), dec(2, "198.51.100.2/32", 50), dec(3, "198.51.100.3/32", 300),
               dec(4, "198.51.100.4/32", 200)};
    book.apply(d, false, guard, &test_zone, now);
    CHECK(book.active(now) == 3);
    CHECK(book.counts().evictions == 1);
    CHECK_FALSE(guard.find_ban(*parse_prefix("198.51.100.2/32"), now));
    CHECK(guard.find_ban(*parse_prefix("198.51.100.4/32"), now));
}

TEST_CASE("crowdsec book: expired and zero-length decisions are not applied; expiry forgets") {
    rig r;
    r.apply({dec(1, "198.51.100.1/32", 0), dec(2, "198.51.100.2/32", -3), dec(3, "198.51.100.3/32", 10)});
    CHECK(r.book.active(now) == 1);
    CHECK(r.book.active(now + 11) == 0);
}

TEST_CASE("crowdsec book: a reload that trusts a banned source lifts its CrowdSec ban") {
    rig r;
    r.apply({dec(1, "198.51.100.7/32"), dec(2, "198.51.100.8/32")});
    const auto trust_7 = [](const ip_address& a) {
        return to_string(a) == "198.51.100.7" ? zone::trusted : test_zone(a);
    };
    const auto events = r.book.recheck_zones(r.guard, trust_7);
    REQUIRE(events.size() == 1);
    CHECK_FALSE(r.ban("198.51.100.7/32"));
    CHECK(r.ban("198.51.100.8/32"));
    CHECK(r.book.active(now) == 1);
}

TEST_CASE("crowdsec book: an expired decision leaves no origin behind in the ban table") {
    protect::seconds_t engine_now = 1000;
    protect::sip_guard guard{4096, 32, 64, [&] { return engine_now; }};
    decision_book book{32, 64, 4096};
    stream_delta d;
    d.added = {dec(1, "198.51.100.7/32", 10, "first")};
    book.apply(d, false, guard, &test_zone, now);
    engine_now += 20;
    book.apply(stream_delta{}, false, guard, &test_zone, now + 20);
    CHECK(book.active(now + 20) == 0);
    // A later manual ban of the same source shows no stale CrowdSec scenario.
    REQUIRE(guard.add_ban(*parse_prefix("198.51.100.7/32"), 60, "crowdsec", now + 20).empty());
    const auto v = guard.find_ban(*parse_prefix("198.51.100.7/32"), now + 20);
    REQUIRE(v);
    CHECK(v->scenario.empty());
}

TEST_CASE("crowdsec book: the state file keeps running decisions, origin and scenario") {
    testing::temp_dir dir;
    const std::string path = (dir.path / "crowdsec-decisions").string();
    rig r;
    r.apply({dec(1, "198.51.100.1/32", 600, "manual 'ban' from 'lapi'"), dec(2, "2001:db8:5::/64", 60)});
    REQUIRE(r.book.save(path, now).empty());
    std::string errors;
    const auto back = r.book.load(path, now + 100, errors);
    CHECK(errors.empty());
    REQUIRE(back.size() == 1);  // the 60 s one expired
    CHECK(to_string(back[0].target) == "198.51.100.1/32");
    CHECK(back[0].scenario == "manual 'ban' from 'lapi'");
    CHECK(back[0].origin == "cscli");
    CHECK(back[0].duration_s == 500);
    CHECK(back[0].id == 1);
    {
        std::ofstream f(path, std::ios::app);
        f << "garbage line\n";
    }
    errors.clear();
    r.book.load(path, now, errors);
    CHECK(errors.find(":4: not a decision line") != std::string::npos);
}

TEST_CASE("crowdsec: machine credentials as cscli writes them") {
    struct row {
        const char* yaml;
        bool ok;
        const char* url;
        const char* login;
        const char* error_part;
    };
    const row rows[] = {
        {"url: http://192.0.2.1:8080\nlogin: pbx-a\npassword: s3cr3t\n", true, "http://192.0.2.1:8080/", "pbx-a", ""},
        {"# cscli\nurl: \"http://192.0.2.1:8080/\"\nlogin: 'pbx-a'\npassword: \"p:w\"\n", true, "http://192.0.2.1:8080/",
         "pbx-a", ""},
        {"login: a\npassword: b\n", true, "", "a", ""},
        {"url: http://x/\npassword: b\n", false, "", "", "missing login"},
        {"url: http://x/\nlogin: a\n", false, "", "", "missing password"},
        {"url: http://x/\nlogin a\n", false, "", "", "line 2"},
        {"", false, "", "", "missing login"},
    };
    for (const row& t : rows) {
        INFO(t.yaml);
        const auto c = parse_machine_credentials(t.yaml);
        CHECK(c.value.has_value() == t.ok);
        if (t.ok) {
            CHECK(c.value->url == t.url);
            CHECK(c.value->login == t.login);
        } else {
            CHECK(c.error.find(t.error_part) != std::string::npos);
            CHECK(c.error.find("b") == std::string::npos);  // never the password
        }
    }
}

TEST_CASE("crowdsec: secret files must be the owner's only; the key is never in an error") {
    testing::temp_dir dir;
    const std::string key = (dir.path / "bouncer.key").string();
    {
        std::ofstream f(key);
        f << "  0123456789abcdef  \nsecond line\n";
    }
    const uid_t me = geteuid();
    struct row {
        mode_t mode;
        bool ok;
    };
    for (const row t : {row{0600, true}, row{0400, true}, row{0640, false}, row{0604, false}, row{0660, false}}) {
        INFO(t.mode);
        REQUIRE(chmod(key.c_str(), t.mode) == 0);
        const auto r = read_bouncer_key(key, me, true);
        CHECK(r.text.has_value() == t.ok);
        if (t.ok) CHECK(*r.text == "0123456789abcdef");
        else CHECK(r.error.find("chmod 600") != std::string::npos);
        CHECK(r.error.find("0123456789abcdef") == std::string::npos);
    }
    REQUIRE(chmod(key.c_str(), 0644) == 0);
    CHECK(read_bouncer_key(key, me, false).text);  // --no-strict-modes
    const std::string empty = (dir.path / "empty.key").string();
    { std::ofstream f(empty); }
    REQUIRE(chmod(empty.c_str(), 0600) == 0);
    CHECK_FALSE(read_bouncer_key(empty, me, true).text);
    CHECK_FALSE(read_bouncer_key((dir.path / "absent").string(), me, true).text);
}

TEST_CASE("crowdsec: backoff doubles from 1 s to the cap and resets") {
    backoff b(std::chrono::seconds(20));
    const int expected[] = {1, 2, 4, 8, 16, 20, 20};
    for (const int e : expected) CHECK(b.next().count() == e);
    b.reset();
    CHECK(b.next().count() == 1);
}
