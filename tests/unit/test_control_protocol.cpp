// The control socket's protocol without a socket: the JSON reader, the command registry's
// answers to good and malformed requests, the bans.* commands against an in-memory ban
// table, and the duration syntax of `pbxgate bans add --for`.
#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "control/ban_commands.hpp"
#include "control/control_commands.hpp"
#include "control/duration_text.hpp"
#include "test_helpers.hpp"
#include "util/json_value.hpp"

using namespace pbxgate;
using namespace pbxgate::control;

namespace {

// A ban table in a vector: what the commands are tested against (the real one is the
// SIP per-source state; this one records what it was asked).
class vector_ban_table : public protect::ban_admin {
public:
    std::vector<protect::ban_view> bans;
    std::int64_t last_duration = -1;

    std::vector<protect::ban_view> list_bans(std::int64_t) const override { return bans; }
    std::string add_ban(const ip_prefix& source, std::int64_t duration_s, const std::string& reason,
                        std::int64_t now) override {
        if (source.length == 0) return "refusing to ban everyone";
        last_duration = duration_s;
        bans.push_back({source, reason, now, duration_s ? now + duration_s : 0, 1});
        return {};
    }
    bool remove_ban(const ip_prefix& source) override {
        for (auto it = bans.begin(); it != bans.end(); ++it)
            if (it->source == source) {
                bans.erase(it);
                return true;
            }
        return false;
    }
    std::size_t flush_bans() override { return std::exchange(bans, {}).size(); }
};

json_value parsed(const std::string& line) {
    auto r = parse_json(line);
    INFO(line << " -> " << r.error);
    REQUIRE(r.value.has_value());
    return *r.value;
}

bool ok_of(const std::string& answer) { return parsed(answer).find("ok")->as_bool(); }
std::string error_of(const std::string& answer) {
    const json_value v = parsed(answer);
    REQUIRE(v.find("error") != nullptr);
    return v.find("error")->as_string();
}

constexpr std::int64_t now = 1795844400;

}  // namespace

TEST_CASE("json reader accepts JSON and rejects the rest with an offset", "[control]") {
    struct row {
        const char* text;
        bool ok;
    };
    static const std::string too_deep(40, '[');
    const row rows[] = {
        {R"({"command":"bans.list"})", true},
        {R"( {"a":[1,-2.5e3,true,false,null,"x\"\\\/\n\u00e9\ud83d\ude00"],"b":{}} )", true},
        {"[]", true},
        {"", false},
        {"{", false},
        {R"({"a":1,})", false},
        {R"({"a" 1})", false},
        {R"({"a":1}x)", false},
        {R"({"a":1,"a":2})", false},  // duplicate keys are ambiguous
        {R"(["\ud83d"])", false},     // lone surrogate
        {"[01]", false},
        {"[1.]", false},
        {"[tru]", false},
        {"[\"a\nb\"]", false},        // raw control character
        {too_deep.c_str(), false},  // deeper than json_max_depth
    };
    for (const row& r : rows) {
        INFO(r.text);
        const auto res = parse_json(r.text);
        CHECK(res.value.has_value() == r.ok);
        if (!r.ok) CHECK(res.error.rfind("offset ", 0) == 0);
    }
    const json_value v = parsed(R"({"s":"\u00e9\ud83d\ude00","n":42,"f":1.5})");
    CHECK(v.find("s")->as_string() == "\xc3\xa9\xf0\x9f\x98\x80");
    CHECK(v.find("n")->as_integer() == 42);
    CHECK_FALSE(v.find("f")->as_integer().has_value());
    CHECK(v.find("missing") == nullptr);
}

TEST_CASE("registry: malformed requests get a clear error, never a throw", "[control]") {
    command_registry reg;
    reg.add("echo", "", [](const request& r) { return reply::success(R"({"command":")" + r.command + "\"}"); });
    reg.add("boom", "", [](const request&) -> reply { throw std::runtime_error("table gone"); });
    CHECK_THROWS_AS(reg.add("echo", "", [](const request&) { return reply{}; }), std::logic_error);

    CHECK(reg.answer(R"({"command":"echo"})") == R"({"ok":true,"result":{"command":"echo"}})");
    struct row {
        std::string line;
        const char* error_starts;
    };
    const row rows[] = {
        {"hello", "malformed request: not JSON"},
        {"[1,2]", "malformed request: expected a JSON object"},
        {R"({"cmd":"echo"})", "malformed request: no \"command\" string"},
        {R"({"command":7})", "malformed request: no \"command\" string"},
        {R"({"command":"nope"})", "unknown command 'nope' (known: boom, echo)"},
        {R"({"command":"boom"})", "command failed: table gone"},
        {std::string(max_request_bytes + 1, ' '), "request too long"},
    };
    for (const row& r : rows) {
        INFO(r.line.substr(0, 40));
        const std::string a = reg.answer(r.line);
        CHECK_FALSE(ok_of(a));
        CHECK(error_of(a).rfind(r.error_starts, 0) == 0);
    }
}

TEST_CASE("bans commands dispatch to the ban table", "[control]") {
    vector_ban_table table;
    command_registry reg;
    register_ban_commands(reg, [&] { return &table; }, [] { return now; });

    CHECK(reg.answer(R"({"command":"bans.list"})") == R"({"ok":true,"result":{"bans":[]}})");
    CHECK(reg.answer(R"({"command":"bans.add","source":"203.0.113.5","duration_s":600,"reason":"toll fraud"})") ==
          R"({"ok":true,"result":{"source":"203.0.113.5/32"}})");
    CHECK(table.last_duration == 600);
    CHECK(ok_of(reg.answer(R"({"command":"bans.add","source":"2001:db8:3::/64"})")));
    CHECK(table.last_duration == 0);  // no duration: until removed
    REQUIRE(table.bans.size() == 2);
    CHECK(table.bans[1].reason == "manual");

    const json_value list = parsed(reg.answer(R"({"command":"bans.list"})"));
    const auto& rows = list.find("result")->find("bans")->items();
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].find("source")->as_string() == "203.0.113.5/32");
    CHECK(rows[0].find("reason")->as_string() == "toll fraud");
    CHECK(rows[0].find("since")->as_integer() == now);
    CHECK(rows[0].find("expires")->as_integer() == now + 600);
    CHECK(rows[0].find("count")->as_integer() == 1);
    CHECK(rows[1].find("expires")->is_null());

    CHECK(reg.answer(R"({"command":"bans.remove","source":"203.0.113.5"})") == R"({"ok":true,"result":{"removed":true}})");
    CHECK(error_of(reg.answer(R"({"command":"bans.remove","source":"203.0.113.5"})")) == "203.0.113.5/32 is not banned");
    CHECK(reg.answer(R"({"command":"bans.flush"})") == R"({"ok":true,"result":{"removed":1}})");
    CHECK(table.bans.empty());
    // The table's own refusal reaches the admin.
    CHECK(error_of(reg.answer(R"({"command":"bans.add","source":"0.0.0.0/0"})")) == "refusing to ban everyone");
}

TEST_CASE("bans commands refuse bad arguments before the table sees them", "[control]") {
    vector_ban_table table;
    command_registry reg;
    register_ban_commands(reg, [&] { return &table; }, [] { return now; });
    struct row {
        const char* line;
        const char* error_starts;
    };
    const row rows[] = {
        {R"({"command":"bans.add"})", "missing \"source\""},
        {R"({"command":"bans.add","source":5})", "missing \"source\""},
        {R"({"command":"bans.add","source":"203.0.113.300"})", "source '203.0.113.300': "},
        {R"({"command":"bans.add","source":"203.0.113.5/24"})", "source '203.0.113.5/24': "},  // host bits set
        {R"({"command":"bans.add","source":"203.0.113.5","duration_s":-1})", "duration_s must be"},
        {R"({"command":"bans.add","source":"203.0.113.5","duration_s":1.5})", "duration_s must be"},
        {R"({"command":"bans.add","source":"203.0.113.5","duration_s":"1h"})", "duration_s must be"},
        {R"({"command":"bans.add","source":"203.0.113.5","duration_s":1e12})", "duration_s must be"},
        {R"({"command":"bans.add","source":"203.0.113.5","reason":""})", "reason must be"},
        {R"({"command":"bans.add","source":"203.0.113.5","reason":"a\nb"})", "reason must be"},
        {R"({"command":"bans.remove","source":"me"})", "source 'me': "},
    };
    for (const row& r : rows) {
        INFO(r.line);
        const std::string a = reg.answer(r.line);
        CHECK_FALSE(ok_of(a));
        CHECK(error_of(a).rfind(r.error_starts, 0) == 0);
    }
    CHECK(table.bans.empty());
}

TEST_CASE("bans commands without a ban table say SIP protection is off", "[control]") {
    command_registry reg;
    register_ban_commands(reg, [] { return static_cast<protect::ban_admin*>(nullptr); }, [] { return now; });
    for (const char* line : {R"({"command":"bans.list"})", R"({"command":"bans.add","source":"203.0.113.5"})",
                             R"({"command":"bans.remove","source":"203.0.113.5"})", R"({"command":"bans.flush"})"}) {
        INFO(line);
        CHECK(error_of(reg.answer(line)).rfind("SIP protection not enabled", 0) == 0);
    }
}

TEST_CASE("durations: 30s 10m 1h 7d, and clear refusals", "[control]") {
    struct row {
        const char* text;
        std::int64_t seconds;  // -1: refused
    };
    const row rows[] = {
        {"30s", 30}, {"10m", 600}, {"1h", 3600}, {"7d", 604800}, {"45", 45}, {"3650d", 3650LL * 86400},
        {"", -1},    {"h", -1},    {"1w", -1},   {"0s", -1},     {"-5m", -1}, {"1.5h", -1},
        {"3651d", -1}, {"99999999999999999999s", -1}, {"1 h", -1},
    };
    for (const row& r : rows) {
        INFO(r.text);
        std::string why;
        const auto d = parse_duration(r.text, &why);
        if (r.seconds < 0) {
            CHECK_FALSE(d.has_value());
            CHECK_FALSE(why.empty());
        } else {
            CHECK(d == r.seconds);
        }
    }
    CHECK(format_duration(90061) == "1d1h1m1s");
    CHECK(format_duration(3600) == "1h");
    CHECK(format_duration(0) == "0s");
}
