#include <catch2/catch.hpp>

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <thread>
#include <string>
#include <vector>

#include "protect/sip_guard.hpp"
#include "sip/sip_message.hpp"
#include "sip_samples.hpp"

using namespace pbxgate;
using namespace pbxgate::protect;
using namespace std::string_literals;

namespace {

const ip_address attacker = ip_address::v4(0xcb007109);  // 203.0.113.9
const ip_address phone = ip_address::v4(0xc633640a);     // 198.51.100.10

struct request_text {
    std::string method = "REGISTER";
    std::string call_id = "c1";
    unsigned cseq = 1;
    std::string branch = "z9hG4bK-1";
    std::string ua = "Yealink";
    bool auth = false;
    std::string from = "<sip:201@pbx>;tag=1";
};

std::string build(const request_text& r) {
    std::string t = r.method + " sip:pbx SIP/2.0\r\nVia: SIP/2.0/UDP 203.0.113.9;branch=" + r.branch +
                    "\r\nFrom: " + r.from + "\r\nCall-ID: " + r.call_id + "\r\nCSeq: " + std::to_string(r.cseq) +
                    " " + r.method + "\r\nUser-Agent: " + r.ua + "\r\n";
    if (r.auth) t += "Authorization: Digest username=\"201\"\r\n";
    return t + "\r\n";
}

std::string response(unsigned status, const request_text& r, const std::string& extra = "") {
    return "SIP/2.0 " + std::to_string(status) + " X\r\nVia: SIP/2.0/UDP 203.0.113.9;branch=" + r.branch +
           "\r\nCall-ID: " + r.call_id + "\r\nCSeq: " + std::to_string(r.cseq) + " " + r.method + "\r\n" + extra +
           "\r\n";
}

struct rig {
    sip_settings s;
    seconds_t now = 1000;
    sip_guard g{4096, 32, 64, [this] { return now; }};

    guard_outcome request(const ip_address& src, const request_text& r, zone z = zone::internet, bool monitor = false) {
        const std::string text = build(r);
        sip::message_view m;
        REQUIRE(sip::parse_message(text, m) == sip::parse_status::ok);
        return g.on_request(s, src, z, m, now, monitor);
    }
    guard_outcome answer(const ip_address& peer, unsigned status, const request_text& r, const std::string& extra = "") {
        const std::string text = response(status, r, extra);
        sip::message_view m;
        REQUIRE(sip::parse_message(text, m) == sip::parse_status::ok);
        return g.on_response(s, peer, zone::internet, m, now, false);
    }
};

}  // namespace

TEST_CASE("guard: scanners are dropped and banned at their first request, case-insensitively") {
    struct row { std::string ua, from; bool extra, allow; reason expect; };
    const std::vector<row> rows{
        {"friendly-scanner", "<sip:100@h>;tag=1", false, false, reason::scanner},
        {"Yealink", "\"SIPVICIOUS\" <sip:100@h>;tag=1", false, false, reason::scanner},
        {"sipcli/v1.8", "<sip:100@h>;tag=1", false, false, reason::scanner},
        {"sipsak 0.9", "<sip:100@h>;tag=1", false, false, reason::allowed},      // second list is opt-in
        {"sipsak 0.9", "<sip:100@h>;tag=1", true, false, reason::scanner},
        {"friendly-scanner", "<sip:100@h>;tag=1", false, true, reason::allowed},  // allow list wins
    };
    for (const row& r : rows) {
        INFO(r.ua << " / " << r.from);
        rig t;
        t.s.use_extra_scanners = r.extra;
        if (r.allow) t.s.allow_agents = {"FRIENDLY-scanner"};
        request_text q;
        q.ua = r.ua;
        q.from = r.from;
        const guard_outcome o = t.request(attacker, q);
        CHECK(o.why == r.expect);
        if (r.expect == reason::scanner) {
            CHECK(o.action == verdict::drop);
            CHECK(o.banned_now);
            CHECK(o.event.why == ban_reason::scanner);
            CHECK(o.event.duration_s == 86400);
            q.ua = "Yealink";
            q.from = "<sip:100@h>;tag=1";
            q.cseq = 2;
            CHECK(t.request(attacker, q).why == reason::banned);
        }
    }
}

TEST_CASE("guard: auth failures, first challenge not counted, repeat offence x4 capped") {
    rig t;
    request_text q;
    // The first challenge never counts, however many times.
    for (unsigned i = 1; i <= 8; ++i) {
        q.cseq = i;
        q.branch = "b" + std::to_string(i);
        q.call_id = "call" + std::to_string(i);
        REQUIRE(t.request(attacker, q).action == verdict::accept);
        t.now += 10;  // stay under the rate tiers
        CHECK_FALSE(t.answer(attacker, 401, q).banned_now);
    }
    // A 401 answering credentials counts: the fifth within 60 s bans for an hour.
    std::vector<std::uint32_t> durations;
    for (int offence = 0; offence < 6; ++offence) {
        q.auth = true;
        guard_outcome last;
        for (unsigned i = 0; i < 5; ++i) {
            q.cseq += 1;
            q.branch = "x" + std::to_string(q.cseq);
            t.request(attacker, q);
            last = t.answer(attacker, 401, q);
            if (i < 4) CHECK_FALSE(last.banned_now);
        }
        REQUIRE(last.banned_now);
        CHECK(last.why == reason::auth_failures);
        CHECK(last.action == verdict::accept);  // a response is never dropped
        CHECK(last.event.count == 5);
        CHECK(last.event.status == 401);
        durations.push_back(last.event.duration_s);
        t.now += last.event.duration_s + 1;  // serve the ban
    }
    CHECK(durations == std::vector<std::uint32_t>{3600, 14400, 57600, 230400, 604800, 604800});
}

TEST_CASE("guard: which answers count as failures") {
    struct row { std::string method; unsigned status; bool auth; bool counts; };
    const std::vector<row> rows{
        {"REGISTER", 403, false, true}, {"INVITE", 403, false, true},  {"OPTIONS", 403, false, false},
        {"REGISTER", 404, false, true}, {"INVITE", 404, false, false}, {"INVITE", 407, true, true},
        {"INVITE", 407, false, false},  {"REGISTER", 401, true, true}, {"REGISTER", 500, true, false},
    };
    for (const row& r : rows) {
        INFO(r.method << " " << r.status << " auth " << r.auth);
        rig t;
        t.s.auth_failures = 1;
        request_text q;
        q.method = r.method;
        q.auth = r.auth;
        t.request(attacker, q);
        CHECK(t.answer(attacker, r.status, q).banned_now == r.counts);
    }
}

TEST_CASE("guard: request-rate tiers count requests, not keepalives or retransmissions") {
    rig t;
    request_text q;
    q.method = "OPTIONS";
    // Retransmissions of one transaction are never counted.
    for (int i = 0; i < 50; ++i) CHECK(t.request(attacker, q).action == verdict::accept);
    // Ten distinct requests within 60 s pass; the eleventh is dropped and bans.
    for (unsigned i = 2; i <= 10; ++i) {
        q.cseq = i;
        q.branch = "b" + std::to_string(i);
        CHECK(t.request(attacker, q).action == verdict::accept);
    }
    q.cseq = 11;
    q.branch = "b11";
    const guard_outcome o = t.request(attacker, q);
    CHECK(o.why == reason::request_rate);
    CHECK(o.banned_now);
    CHECK(o.event.count == 11);
    CHECK(o.event.window_s == 60);
    CHECK(o.event.duration_s == 600);
}

TEST_CASE("guard: trust - registered and known are exempt from the rate, never from scanner and auth") {
    rig t;
    request_text q;
    q.auth = true;
    t.request(phone, q);
    // 200 to a REGISTER with credentials: registered for expiry x 2 (at least 5 minutes).
    t.answer(phone, 200, q, "Contact: <sip:201@198.51.100.10>;expires=60\r\n");
    CHECK(t.g.is_registered(phone, t.now));
    CHECK(t.g.is_registered(phone, t.now + 299));
    CHECK_FALSE(t.g.is_registered(phone, t.now + 301));
    // BLF/MWI/OPTIONS at a high rate never trip the tiers.
    request_text o;
    o.method = "SUBSCRIBE";
    for (unsigned i = 0; i < 200; ++i) {
        o.cseq = i + 1;
        o.branch = "s" + std::to_string(i);
        REQUIRE(t.request(phone, o).action == verdict::accept);
    }
    // A scanner UA still bans it.
    o.ua = "friendly-scanner";
    o.cseq = 999;
    CHECK(t.request(phone, o).why == reason::scanner);
    // Trust never lifts a ban.
    q.cseq = 50;
    q.branch = "r50";
    t.answer(phone, 200, q);
    CHECK(t.g.is_banned(phone, t.now, false));
}

TEST_CASE("guard: a 2xx without credentials never grants trust") {
    rig t;
    request_text q;
    q.method = "INVITE";
    t.request(attacker, q);
    t.answer(attacker, 200, q);
    CHECK_FALSE(t.g.is_known(attacker, t.now));
    q.method = "REGISTER";
    q.cseq = 2;
    t.request(attacker, q);
    t.answer(attacker, 200, q);
    CHECK_FALSE(t.g.is_registered(attacker, t.now));
    // With credentials, a 2xx to an INVITE makes it known.
    q.method = "INVITE";
    q.cseq = 3;
    q.auth = true;
    t.request(attacker, q);
    t.answer(attacker, 200, q);
    CHECK(t.g.is_known(attacker, t.now));
}

TEST_CASE("guard: known peers and unprotected zones are exempt") {
    rig t;
    t.s.known_peers = {ip_prefix{ip_address::v4(0xc6336400), 24}};
    request_text q;
    q.method = "INVITE";
    for (unsigned i = 0; i < 100; ++i) {
        q.cseq = i + 1;
        q.branch = "k" + std::to_string(i);
        REQUIRE(t.request(phone, q).action == verdict::accept);  // in known_peers
        REQUIRE(t.request(attacker, q, zone::lan).action == verdict::accept);  // lan not protected
    }
    q.ua = "friendly-scanner";
    CHECK(t.request(attacker, q, zone::lan).action == verdict::accept);
}

TEST_CASE("guard: monitor mode computes a ban but enforce never honours it") {
    rig t;
    request_text q;
    q.ua = "friendly-scanner";
    const guard_outcome o = t.request(attacker, q, zone::internet, true);
    CHECK(o.banned_now);
    CHECK(o.event.monitor);
    CHECK(t.g.is_banned(attacker, t.now, true));
    CHECK_FALSE(t.g.is_banned(attacker, t.now, false));
    CHECK(t.g.list_bans(1'700'000'000).empty());
}

TEST_CASE("guard: IPv6 sources are one /64") {
    rig t;
    const std::uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1};
    const std::uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2, 0xff, 0, 0, 0, 0, 0, 0, 9};
    const std::uint8_t c[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 3, 0, 0, 0, 0, 0, 0, 0, 1};
    request_text q;
    q.ua = "sipvicious";
    t.request(ip_address::v6(a), q);
    CHECK(t.g.is_banned(ip_address::v6(b), t.now, false));
    CHECK_FALSE(t.g.is_banned(ip_address::v6(c), t.now, false));
    const auto bans = t.g.list_bans(1'700'000'000);
    REQUIRE(bans.size() == 1);
    CHECK(to_string(bans[0].source) == "2001:db8:1:2::/64");
}

TEST_CASE("guard: a spoofed-source flood evicts quiet unknown sources, never banned or registered") {
    rig t;
    request_text q;
    q.auth = true;
    t.request(phone, q);
    t.answer(phone, 200, q);
    request_text s;
    s.ua = "friendly-scanner";
    t.request(attacker, s);
    for (std::uint32_t i = 0; i < 100000; ++i) {
        request_text f;
        f.call_id = "f" + std::to_string(i);
        t.now += (i % 1000 == 0) ? 1 : 0;
        t.request(ip_address::v4(0xc0000200u + (i << 8)), f);  // distinct /32s
    }
    CHECK(t.g.is_registered(phone, t.now));
    CHECK(t.g.is_banned(attacker, t.now, false));
    CHECK(t.g.evictions() > 90000);
    CHECK(t.g.count(t.now).tracked <= 4096);
}

TEST_CASE("guard: admin add, list, remove, flush") {
    rig t;
    const std::int64_t unix_now = 1'700'000'000;
    CHECK(t.g.add_ban(ip_prefix{attacker, 32}, 3600, "manual", unix_now).empty());
    CHECK_FALSE(t.g.add_ban(ip_prefix{ip_address::v4(0xcb007100), 24}, 60, "manual", unix_now).empty());
    auto bans = t.g.list_bans(unix_now);
    REQUIRE(bans.size() == 1);
    CHECK(bans[0].reason == "manual");
    CHECK(bans[0].expires_unix == unix_now + 3600);
    CHECK(bans[0].since_unix == unix_now);
    request_text q;
    CHECK(t.request(attacker, q).why == reason::banned);
    CHECK(t.g.remove_ban(ip_prefix{attacker, 32}));
    CHECK(t.request(attacker, q).action == verdict::accept);
    CHECK_FALSE(t.g.remove_ban(ip_prefix{attacker, 32}));
    t.g.add_ban(ip_prefix{attacker, 32}, 0, "manual", unix_now);
    CHECK(t.g.list_bans(unix_now)[0].expires_unix == 0);  // until removed
    CHECK(t.g.flush_bans() == 1);
    CHECK(t.g.list_bans(unix_now).empty());
}

// list_bans() skips its table scan once every ban ever set has ended: the bans a worker,
// the admin and a reload set must each show up, and none once ended.
TEST_CASE("guard: list_bans shows worker, admin and later bans, and nothing once they ended") {
    rig t;
    const std::int64_t unix_now = 1'700'000'000;
    t.s.scanner_ban_s = 30;
    CHECK(t.g.list_bans(unix_now).empty());
    request_text q;
    q.ua = "friendly-scanner";
    CHECK(t.request(attacker, q).why == reason::scanner);  // a worker's ban: until now + 30
    CHECK(t.g.list_bans(unix_now).size() == 1);
    t.now += 31;
    CHECK(t.g.list_bans(unix_now + 31).empty());
    // A shorter ban after the longest one ended must be seen again.
    CHECK(t.g.add_ban(ip_prefix{phone, 32}, 10, "manual", unix_now + 31).empty());
    REQUIRE(t.g.list_bans(unix_now + 31).size() == 1);
    CHECK(t.g.list_bans(unix_now + 31)[0].source == ip_prefix{phone, 32});
    t.now += 11;
    CHECK(t.g.list_bans(unix_now + 42).empty());
    // And one set by a worker after that.
    request_text r = q;
    r.call_id = "c2";
    r.branch = "z9hG4bK-2";
    CHECK(t.request(attacker, r).why == reason::scanner);
    CHECK(t.g.list_bans(unix_now + 42).size() == 1);
}

TEST_CASE("guard: state survives a restart through save and load; expired entries dropped") {
    const std::string path = "sip_state_test_" + std::to_string(::getpid()) + ".txt";
    std::int64_t unix_now = 1'700'000'000;
    {
        rig t;
        request_text q;
        q.auth = true;
        t.request(phone, q);
        t.answer(phone, 200, q, "Expires: 600\r\n");
        q.ua = "friendly-scanner";
        t.request(attacker, q);
        t.g.add_ban(ip_prefix{ip_address::v4(0xcb007101), 32}, 5, "manual", unix_now);
        REQUIRE(t.g.save(path, unix_now).empty());
    }
    rig t2;
    t2.now = 50;  // a new boot: the monotonic clock starts again
    unix_now += 10;
    REQUIRE(t2.g.load(path, unix_now).empty());
    CHECK(t2.g.is_banned(attacker, t2.now, false));
    CHECK(t2.g.is_registered(phone, t2.now));
    CHECK_FALSE(t2.g.is_banned(ip_address::v4(0xcb007101), t2.now, false));  // expired while down
    const auto bans = t2.g.list_bans(unix_now);
    REQUIRE(bans.size() == 1);
    CHECK(bans[0].reason == "scanner");
    CHECK(bans[0].expires_unix == 1'700'000'000 + 86400);
    std::remove(path.c_str());
}

TEST_CASE("guard: workers share the table without a lock") {
    // Four threads: two flood distinct spoofed sources (evictions), two judge one scanner and
    // one phone. The scanner ends banned once, the phone registered, and nothing tears.
    sip_settings s;
    sip_guard g(2048, 32, 64, [] { return seconds_t{100}; });
    request_text reg;
    reg.auth = true;
    const std::string reg_text = build(reg);
    const std::string ok_text = response(200, reg);
    request_text scan;
    scan.ua = "friendly-scanner";
    const std::string scan_text = build(scan);
    sip::message_view reg_m, ok_m, scan_m;
    REQUIRE(sip::parse_message(reg_text, reg_m) == sip::parse_status::ok);
    REQUIRE(sip::parse_message(ok_text, ok_m) == sip::parse_status::ok);
    REQUIRE(sip::parse_message(scan_text, scan_m) == sip::parse_status::ok);
    g.on_request(s, phone, zone::internet, reg_m, 100, false);
    g.on_response(s, phone, zone::internet, ok_m, 100, false);
    std::atomic<unsigned> bans{0};
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (std::uint32_t i = 0; i < 20000; ++i) {
                if (t < 2) {
                    sip::message_view m = reg_m;
                    m.has_authorization = false;
                    m.cseq = i;
                    g.on_request(s, ip_address::v4(0x0a000000u + t * 0x100000u + i), zone::internet, m, 100, false);
                } else {
                    if (g.on_request(s, attacker, zone::internet, scan_m, 100, false).banned_now) ++bans;
                    g.on_request(s, phone, zone::internet, reg_m, 100, false);
                }
            }
        });
    for (auto& th : threads) th.join();
    CHECK(bans.load() == 1);
    CHECK(g.is_banned(attacker, 100, false));
    CHECK(g.is_registered(phone, 100));
}

TEST_CASE("sip guard: scanner_match finds a signature anywhere, in any case, in User-Agent or From") {
    struct row { const char* ua; const char* display; const char* user; std::vector<std::string> list;
                 std::vector<std::string> allow; const char* want; };
    const std::vector<row> rows{
        {"friendly-scanner", "", "", {}, {}, "friendly-scanner"},
        {"Yealink SIP-T46S 66.86.0.15", "Desk 201", "201", {}, {}, ""},
        {"x/1.0 SiPvIcIoUs", "", "", {}, {}, "x/1.0 SiPvIcIoUs"},          // at the end, mixed case
        {"Yealink", "sipcli", "", {}, {}, "sipcli"},                          // From display name
        {"Yealink", "", "VaxSIPUserAgent", {}, {}, "VaxSIPUserAgent"},        // From user
        {"sip", "", "", {}, {}, ""},                                          // a needle's prefix only
        {"abc", "", "", {"c"}, {}, "abc"},                                     // one-byte needle, last byte
        {"abc", "", "", {"", "bc"}, {}, "abc"},                                // empty needles are ignored
        {"friendly-scanner lab", "", "", {}, {"LAB"}, ""},                    // the allow list wins
        {"my SIP-SCAN tool", "", "", {}, {}, "my SIP-SCAN tool"},           // "sip" starts five signatures
        {"xpp", "", "", {"p0"}, {}, ""},       // 'p' and '0' share the pair filter's bit: compared, no match
        {"xP0", "", "", {"p0"}, {}, "xP0"},
        {"Gulp", "", "", {}, {}, "Gulp"},                                    // the whole text is the signature
    };
    // Unindexed (settings built by hand), indexed as the policy loader leaves them, and with
    // an index gone stale (a list changed size since): the same answers.
    for (const int mode : {0, 1, 2}) {
        for (const row& r : rows) {
            INFO("mode " << mode << ": " << r.ua << " / " << r.display << " / " << r.user);
            sip_settings s;
            if (mode == 2) index_scanner_lists(s);
            if (!r.list.empty()) s.scanners = r.list;
            s.allow_agents = r.allow;
            if (mode == 1) index_scanner_lists(s);
            sip::message_view m;
            m.user_agent = r.ua;
            m.from.display = r.display;
            m.from.user = r.user;
            CHECK(scanner_match(s, m) == std::string_view(r.want));
        }
    }
}

TEST_CASE("sip guard: transactions whose Call-ID or branch differ in any byte are told apart") {
    // The transaction hash reads eight bytes at a time: a difference in the last byte, in a
    // partial tail, or in the length alone must still make a new transaction.
    struct row { std::string a, b; };
    const std::vector<row> rows{
        {"", "x"}, {"1234567", "1234568"}, {"12345678", "12345679"}, {"123456789", "12345678a"},
        {"0123456789abcdef", "0123456789abcdeF"}, {"abc", "abc\0"s}, {"12345678", "123456780"},
    };
    for (const bool in_branch : {false, true}) {
        for (const row& r : rows) {
            INFO((in_branch ? "branch " : "call-id ") << r.a << " / " << r.b);
            sip_settings s;
            sip_guard g(1024, 32, 64);
            const ip_address src = ip_address::v4(0xcb007101u);
            sip::message_view m;
            m.is_request = true;
            m.request_method = sip::method::options;
            m.cseq = 1;
            m.cseq_method = sip::method::options;
            (in_branch ? m.via_branch : m.call_id) = r.a;
            CHECK_FALSE(g.on_request(s, src, zone::internet, m, 10, false).retransmission);
            CHECK(g.on_request(s, src, zone::internet, m, 10, false).retransmission);  // the same again
            (in_branch ? m.via_branch : m.call_id) = r.b;
            CHECK_FALSE(g.on_request(s, src, zone::internet, m, 10, false).retransmission);
        }
    }
}
