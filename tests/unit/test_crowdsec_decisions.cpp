// CrowdSec decision stream parsing and Go durations: what is kept, what is skipped and
// counted, what makes the whole answer unusable.
#include <catch2/catch.hpp>

#include <string>

#include "crowdsec/decision_stream.hpp"

using namespace pbxgate;
using namespace pbxgate::crowdsec;

namespace {

std::string one(const std::string& fields) { return R"({"new":[{)" + fields + R"(}],"deleted":null})"; }

const std::string good_fields =
    R"("id":7,"origin":"cscli","type":"ban","scope":"Ip","value":"198.51.100.7","duration":"3h59m58.2s","scenario":"manual 'ban' from 'x'")";

}  // namespace

TEST_CASE("crowdsec: Go durations in whole seconds, rounded up") {
    struct row {
        const char* text;
        std::optional<std::int64_t> secs;
    };
    const row rows[] = {
        {"3h59m58.2s", 14399},
        {"4h", 14400},
        {"1m", 60},
        {"90s", 90},
        {"300ms", 1},
        {"0", 0},
        {"-1m2s", -62},
        {"-0.5s", -1},
        {"1.5h", 5400},
        {"2h3m4s5ms", 7385},
        {"", std::nullopt},
        {"h", std::nullopt},
        {"5", std::nullopt},
        {"5d", std::nullopt},
        {"10x", std::nullopt},
        {"99999999999999h", std::nullopt},
    };
    for (const row& r : rows) {
        INFO(r.text);
        CHECK(parse_go_duration(r.text) == r.secs);
    }
}

TEST_CASE("crowdsec: a good stream answer, Ip and Range, IPv4 and IPv6") {
    const std::string body = R"({"new":[
        {"id":1,"origin":"crowdsec","type":"ban","scope":"Ip","value":"198.51.100.7","duration":"1h","scenario":"pbxgate/sip-scanner"},
        {"id":2,"origin":"cscli","type":"ban","scope":"Range","value":"203.0.113.0/24","duration":"10m","scenario":"manual"},
        {"id":3,"origin":"CAPI","type":"ban","scope":"ip","value":"2001:db8::5","duration":"30s","scenario":"crowdsecurity/ssh-bf"},
        {"id":4,"origin":"lists","type":"ban","scope":"Range","value":"2001:db8:1::/48","duration":"1s","scenario":"list"}],
      "deleted":[{"id":9,"origin":"cscli","type":"ban","scope":"Ip","value":"192.0.2.9","duration":"-2s","scenario":"m"}]})";
    const auto r = parse_decision_stream(body, 100);
    REQUIRE(r.delta);
    REQUIRE(r.delta->added.size() == 4);
    REQUIRE(r.delta->deleted.size() == 1);
    CHECK(to_string(r.delta->added[0].target) == "198.51.100.7/32");
    CHECK(r.delta->added[0].origin == "crowdsec");
    CHECK(r.delta->added[0].scenario == "pbxgate/sip-scanner");
    CHECK(r.delta->added[0].duration_s == 3600);
    CHECK(to_string(r.delta->added[1].target) == "203.0.113.0/24");
    CHECK(to_string(r.delta->added[2].target) == "2001:db8::5/128");
    CHECK(to_string(r.delta->added[3].target) == "2001:db8:1::/48");
    CHECK(r.delta->deleted[0].id == 9);
    CHECK(r.delta->deleted[0].duration_s == -2);
    CHECK(r.delta->skipped.total() == 0);
}

TEST_CASE("crowdsec: decisions pbxgate does not apply are skipped and counted, the rest kept") {
    struct row {
        const char* what;
        std::string fields;
        std::uint64_t skipped_counts::*counter;
    };
    const row rows[] = {
        {"captcha", R"("type":"captcha","scope":"Ip","value":"198.51.100.7","duration":"1h")", &skipped_counts::other_type},
        {"country", R"("type":"ban","scope":"Country","value":"FR","duration":"1h")", &skipped_counts::other_scope},
        {"AS", R"("type":"ban","scope":"AS","value":"64496","duration":"1h")", &skipped_counts::other_scope},
        {"bad address", R"("type":"ban","scope":"Ip","value":"198.51.100.300","duration":"1h")", &skipped_counts::malformed},
        {"range without length", R"("type":"ban","scope":"Range","value":"198.51.100.0","duration":"1h")",
         &skipped_counts::malformed},
        {"no value", R"("type":"ban","scope":"Ip","duration":"1h")", &skipped_counts::malformed},
        {"value not a string", R"("type":"ban","scope":"Ip","value":5,"duration":"1h")", &skipped_counts::malformed},
        {"bad duration", R"("type":"ban","scope":"Ip","value":"198.51.100.7","duration":"forever")",
         &skipped_counts::malformed},
        {"id not a number", R"("id":"x","type":"ban","scope":"Ip","value":"198.51.100.7","duration":"1h")",
         &skipped_counts::malformed},
        {"huge value", R"("type":"ban","scope":"Ip","value":")" + std::string(5000, '1') + R"(","duration":"1h")",
         &skipped_counts::malformed},
    };
    for (const row& r : rows) {
        INFO(r.what);
        const std::string body = R"({"new":[{)" + r.fields + "}, {" + good_fields + "}]}";
        const auto p = parse_decision_stream(body, 100);
        REQUIRE(p.delta);
        CHECK(p.delta->added.size() == 1);
        CHECK(p.delta->skipped.*r.counter == 1);
        CHECK(p.delta->skipped.total() == 1);
    }
}

TEST_CASE("crowdsec: answers that are no decision stream are errors") {
    const char* bodies[] = {
        "", "not json", "[]", "null", R"({"message":"access forbidden"})", R"({"new":[)", R"({"new":[{"id":1}])",
    };
    for (const char* b : bodies) {
        INFO(b);
        const auto p = parse_decision_stream(b, 100);
        CHECK_FALSE(p.delta);
        CHECK_FALSE(p.error.empty());
    }
    // Both lists null (nothing new) is a good, empty answer; a list that is no array is counted.
    const auto empty = parse_decision_stream(R"({"new":null,"deleted":null})", 100);
    REQUIRE(empty.delta);
    CHECK(empty.delta->added.empty());
    const auto odd = parse_decision_stream(R"({"new":{"a":1},"deleted":[]})", 100);
    REQUIRE(odd.delta);
    CHECK(odd.delta->skipped.malformed == 1);
}

TEST_CASE("crowdsec: a huge answer is bounded by max_decisions, the rest counted") {
    std::string body = R"({"new":[)";
    for (int i = 0; i < 5000; ++i) {
        if (i) body += ',';
        body += R"({"id":)" + std::to_string(i) + R"(,"origin":"CAPI","type":"ban","scope":"Ip","value":"198.51.)" +
                std::to_string(i / 256 % 256) + "." + std::to_string(i % 256) + R"(","duration":"1h","scenario":"s"})";
    }
    body += "]}";
    const auto p = parse_decision_stream(body, 1000);
    REQUIRE(p.delta);
    CHECK(p.delta->added.size() == 1000);
    CHECK(p.delta->skipped.over_limit == 4000);
}

TEST_CASE("crowdsec: IPv4-mapped IPv6 addresses are taken as IPv4") {
    const auto p = parse_decision_stream(one(R"("type":"ban","scope":"Ip","value":"::ffff:198.51.100.7","duration":"1h")"), 10);
    REQUIRE(p.delta);
    REQUIRE(p.delta->added.size() == 1);
    CHECK(to_string(p.delta->added[0].target) == "198.51.100.7/32");
}
