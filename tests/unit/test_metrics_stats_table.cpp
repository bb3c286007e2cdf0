// `pbxgate stats` reads back what the endpoint serves: the reader inverts the writer, and
// the table shows the non-zero cells with their numbers.
#include <catch2/catch.hpp>

#include "cli/stats/exposition_reader.hpp"
#include "metrics/prometheus_text.hpp"
#include "cli/stats/stats_table.hpp"

using namespace pbxgate;

TEST_CASE("stats: the exposition reader reads what the writer wrote", "[metrics]") {
    metrics_snapshot m;
    m.service_names = {"none", "sip"};
    m.status.counters.packets_by[1][0][1] = 42;
    m.status.generation = 9;
    const auto samples = read_exposition(format_prometheus(m));
    REQUIRE(samples.has_value());
    bool found = false;
    for (const auto& s : *samples)
        if (s.name == "pbxgate_packets_total" && s.labels.at("service") == "sip" && s.labels.at("zone") == "internet" &&
            s.labels.at("verdict") == "drop") {
            CHECK(s.value == 42);
            found = true;
        }
    CHECK(found);
}

TEST_CASE("stats: malformed lines are refused, naming the line", "[metrics]") {
    const std::vector<std::pair<const char*, const char*>> rows = {
        {"pbxgate_x{a=\"1\" 3\n", "pbxgate_x{a=\"1\" 3"},
        {"pbxgate_x{a=1} 3\n", "pbxgate_x{a=1} 3"},
        {"pbxgate_x\n", "pbxgate_x"},
        {"pbxgate_x abc\n", "pbxgate_x abc"},
    };
    for (const auto& [text, bad] : rows) {
        INFO(text);
        std::string line;
        CHECK_FALSE(read_exposition(text, &line).has_value());
        CHECK(line == bad);
    }
}

TEST_CASE("stats: the table shows the non-zero cells", "[metrics]") {
    metrics_snapshot m;
    m.service_names = {"none", "sip", "ssh"};
    m.status.counters.packets_by[1][static_cast<unsigned>(zone::lan)][0] = 123;
    m.status.counters.bytes_by[1][static_cast<unsigned>(zone::lan)][0] = 45678;
    m.status.counters.by_reason[static_cast<unsigned>(reason::allowed)] = 123;
    m.status.counters.accepted = 123;
    m.status.generation = 4;
    m.status.queues = {2};
    m.heartbeat_age_seconds = {0.5};
    const std::string table = format_stats_table(*read_exposition(format_prometheus(m)));
    INFO(table);
    CHECK(table.find("policy generation 4") != std::string::npos);
    CHECK(table.find("123 accepted, 0 dropped") != std::string::npos);
    CHECK(table.find("sip") != std::string::npos);
    CHECK(table.find("45678") != std::string::npos);
    CHECK(table.find("ssh") == std::string::npos);  // all zeros: no row
    CHECK(table.find("allowed") != std::string::npos);
    CHECK(table.find("0.50 s") != std::string::npos);
}

TEST_CASE("stats: blocklist files in the metrics, the table and the status JSON", "[metrics][blocklist]") {
    metrics_snapshot m;
    m.service_names = {"none", "sip"};
    m.status.counters.by_reason[static_cast<unsigned>(reason::blocklist)] = 7;
    m.status.blocklists.present = true;
    m.status.blocklists.files = {{"/var/lib/pbxgate/apiban.txt", 1200, 2, 0, true}, {"/etc/pbxgate/own \"x\".txt", 3, 0, 4, false}};
    m.status.blocklists.loads = 5;
    m.status.blocklists.load_errors = 3;
    m.status.blocklists.last_load_unix = 1796000000;
    const std::string text = format_prometheus(m);
    CHECK_THAT(text, Catch::Contains("pbxgate_blocklist_entries{file=\"/var/lib/pbxgate/apiban.txt\"} 1200\n"));
    CHECK_THAT(text, Catch::Contains("pbxgate_blocklist_entries{file=\"/etc/pbxgate/own \\\"x\\\".txt\"} 3\n"));
    CHECK_THAT(text, Catch::Contains("pbxgate_blocklist_refused_entries{file=\"/etc/pbxgate/own \\\"x\\\".txt\"} 4\n"));
    CHECK_THAT(text, Catch::Contains("pbxgate_blocklist_load_errors_total 3\n"));
    CHECK_THAT(text, Catch::Contains("pbxgate_blocklist_last_load_timestamp_seconds 1796000000\n"));
    CHECK_THAT(text, Catch::Contains("pbxgate_decisions_total{reason=\"blocklist\"} 7\n"));
    const auto samples = read_exposition(text);
    REQUIRE(samples.has_value());
    const std::string table = format_stats_table(*samples);
    CHECK_THAT(table, Catch::Contains("blocklists:"));
    CHECK_THAT(table, Catch::Contains("1200          2          0  /var/lib/pbxgate/apiban.txt"));
    CHECK_THAT(table, Catch::Contains("(unreadable: previous entries kept)"));
    CHECK_THAT(table, Catch::Contains("loads 5, load errors 3; dropped by the engine (reason blocklist) 7"));

    metrics_snapshot none;  // an engine without the source set: no blocklist families
    CHECK_THAT(format_prometheus(none), !Catch::Contains("pbxgate_blocklist_"));
    CHECK_THAT(format_stats_table(*read_exposition(format_prometheus(none))), !Catch::Contains("blocklists:"));
}
