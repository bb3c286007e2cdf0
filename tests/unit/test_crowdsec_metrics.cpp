// The CrowdSec link's numbers: Prometheus families present only with [crowdsec], with the
// values given, and `pbxgate stats` showing them in one line.
#include <catch2/catch.hpp>

#include <string>

#include "cli/stats/exposition_reader.hpp"
#include "cli/stats/stats_table.hpp"
#include "metrics/prometheus_text.hpp"

using namespace pbxgate;

TEST_CASE("crowdsec metrics: exported with [crowdsec] only, and shown by pbxgate stats") {
    metrics_snapshot m;
    const std::string without = format_prometheus(m);
    CHECK(without.find("pbxgate_crowdsec_") == std::string::npos);
    CHECK(format_stats_table(*read_exposition(without)).find("crowdsec") == std::string::npos);

    m.crowdsec.present = true;
    m.crowdsec.up = false;
    m.crowdsec.last_pull_age_seconds = 42;
    m.crowdsec.decisions = 7;
    m.crowdsec.alerts_pushed = 3;
    m.crowdsec.errors = 5;
    m.crowdsec.evictions = 1;
    m.crowdsec.skipped = 2;
    const std::string text = format_prometheus(m);
    struct row {
        const char* line;
    };
    for (const char* line : {"pbxgate_crowdsec_up 0\n", "pbxgate_crowdsec_last_pull_age_seconds 42\n",
                             "pbxgate_crowdsec_decisions 7\n", "pbxgate_crowdsec_alerts_pushed_total 3\n",
                             "pbxgate_crowdsec_errors_total 5\n", "pbxgate_crowdsec_evictions_total 1\n",
                             "pbxgate_crowdsec_skipped_total 2\n", "# TYPE pbxgate_crowdsec_up gauge\n",
                             "# TYPE pbxgate_crowdsec_errors_total counter\n"}) {
        INFO(line);
        CHECK(text.find(line) != std::string::npos);
    }
    const auto samples = read_exposition(text);
    REQUIRE(samples);
    const std::string table = format_stats_table(*samples);
    CHECK(table.find("local API DOWN; last pull 42 s ago; 7 decisions in force; 3 alerts pushed; 5 errors") !=
          std::string::npos);
    m.crowdsec.up = true;
    m.crowdsec.last_pull_age_seconds = -1;
    CHECK(format_stats_table(*read_exposition(format_prometheus(m))).find("local API up; last pull never") !=
          std::string::npos);
}
