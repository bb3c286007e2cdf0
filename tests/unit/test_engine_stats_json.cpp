// The --stats-file JSON carries the queue's send failures and resends, like Prometheus.
#include <catch2/catch.hpp>

#include <regex>
#include <string>

#include "metrics/stats_report.hpp"
#include "pbxgate/compiled_policy.hpp"
#include "pbxgate/policy.hpp"

using namespace pbxgate;

TEST_CASE("stats JSON: failed verdict sends and resent verdicts", "[engine][metrics]") {
    load_result r = load_policy(PBXGATE_SOURCE_DIR "/tests/data/policies/testbed.toml");
    REQUIRE(r.ok());
    const auto policy = compiled_policy::compile(*r.value);
    engine_status s;
    s.counters.send_errors = 2;
    s.counters.resent_verdicts = 9;
    const std::string json = format_status_json(s, *policy);
    INFO(json);
    CHECK(std::regex_search(json, std::regex(R"("send_errors"\s*:\s*2\b)")));
    CHECK(std::regex_search(json, std::regex(R"("resent_verdicts"\s*:\s*9\b)")));
}

TEST_CASE("stats JSON: blocklist files", "[engine][metrics][blocklist]") {
    load_result r = load_policy(PBXGATE_SOURCE_DIR "/tests/data/policies/testbed.toml");
    REQUIRE(r.ok());
    const auto policy = compiled_policy::compile(*r.value);
    engine_status s;
    CHECK(format_status_json(s, *policy).find("\"blocklists\"") == std::string::npos);
    s.blocklists.present = true;
    s.blocklists.files = {{"/var/lib/pbxgate/apiban.txt", 1200, 2, 0, false}};
    s.blocklists.loads = 4;
    s.blocklists.load_errors = 3;
    const std::string json = format_status_json(s, *policy);
    INFO(json);
    CHECK(std::regex_search(json, std::regex(
        R"("blocklists"\s*:\s*\{"loads":4,"load_errors":3,"last_load":0,"files":\[\{"file":"/var/lib/pbxgate/apiban.txt","entries":1200,"malformed":2,"refused":0,"readable":false\}\]\})")));
}
