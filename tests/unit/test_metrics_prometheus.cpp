// The Prometheus exposition: names and labels as documented, every family typed and
// described, counts equal to the snapshot's, and (when promtool is installed) lint-clean.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>

#include <unistd.h>

#include "metrics/prometheus_text.hpp"
#include "test_metrics_support.hpp"

using namespace pbxgate;
using pbxgate::test::parse_exposition;

namespace {

metrics_snapshot sample_snapshot() {
    metrics_snapshot m;
    m.service_names = {"none", "sip", "ssh", "rtp"};
    counters_snapshot& c = m.status.counters;
    auto cell = [&](unsigned svc, zone z, verdict v, std::uint64_t packets, std::uint64_t bytes) {
        c.packets_by[svc][static_cast<unsigned>(z)][static_cast<unsigned>(v)] = packets;
        c.bytes_by[svc][static_cast<unsigned>(z)][static_cast<unsigned>(v)] = bytes;
    };
    cell(1, zone::internet, verdict::accept, 7, 2100);
    cell(2, zone::internet, verdict::drop, 3, 180);
    cell(3, zone::lan, verdict::accept, 1000, 214000);
    cell(0, zone::trusted, verdict::drop, 2, 120);
    c.accepted = 1007;
    c.dropped = 5;
    c.by_reason[static_cast<unsigned>(reason::zone_not_allowed)] = 3;
    c.by_reason[static_cast<unsigned>(reason::no_service)] = 2;
    c.enobufs = 4;
    c.send_errors = 2;
    c.resent_verdicts = 9;
    m.status.generation = 3;
    m.status.reloads = 2;
    m.status.reload_failures = 1;
    m.status.queues = {0, 1};
    kernel_queue_stats k0;
    k0.queue_num = 0;
    k0.queue_total = 5;
    k0.queue_dropped = 11;
    k0.user_dropped = 13;
    m.status.kernel = {k0};  // queue 1 has no /proc line (not bound yet)
    m.heartbeat_age_seconds = {0.05, 0.25};
    m.status.last_reload_success_unix = 1700000000.5;
    m.start_time_unix = 1699990000;
    return m;
}

}  // namespace

TEST_CASE("prometheus: series carry the snapshot's numbers", "[metrics]") {
    const auto x = parse_exposition(format_prometheus(sample_snapshot()));
    REQUIRE(x.errors.empty());
    struct row {
        const char* name;
        std::map<std::string, std::string> labels;
        const char* value;
    };
    const std::vector<row> rows = {
        {"pbxgate_packets_total", {{"verdict", "accept"}, {"service", "sip"}, {"zone", "internet"}}, "7"},
        {"pbxgate_bytes_total", {{"verdict", "accept"}, {"service", "sip"}, {"zone", "internet"}}, "2100"},
        {"pbxgate_packets_total", {{"verdict", "drop"}, {"service", "ssh"}, {"zone", "internet"}}, "3"},
        {"pbxgate_packets_total", {{"verdict", "accept"}, {"service", "rtp"}, {"zone", "lan"}}, "1000"},
        {"pbxgate_bytes_total", {{"verdict", "accept"}, {"service", "rtp"}, {"zone", "lan"}}, "214000"},
        {"pbxgate_packets_total", {{"verdict", "drop"}, {"service", "none"}, {"zone", "trusted"}}, "2"},
        {"pbxgate_packets_total", {{"verdict", "drop"}, {"service", "sip"}, {"zone", "blocked"}}, "0"},
        {"pbxgate_verdicts_total", {{"verdict", "accept"}}, "1007"},
        {"pbxgate_verdicts_total", {{"verdict", "drop"}}, "5"},
        {"pbxgate_decisions_total", {{"reason", "zone_not_allowed"}}, "3"},
        {"pbxgate_decisions_total", {{"reason", "no_service"}}, "2"},
        {"pbxgate_decisions_total", {{"reason", "malformed"}}, "0"},
        {"pbxgate_enobufs_total", {}, "4"},
        {"pbxgate_queue_errors_total", {{"kind", "send"}}, "2"},
        {"pbxgate_verdicts_resent_total", {}, "9"},
        {"pbxgate_queue_waiting_packets", {{"queue", "0"}}, "5"},
        {"pbxgate_queue_kernel_dropped_total", {{"queue", "0"}, {"cause", "queue_full"}}, "11"},
        {"pbxgate_queue_kernel_dropped_total", {{"queue", "0"}, {"cause", "socket_full"}}, "13"},
        {"pbxgate_worker_heartbeat_age_seconds", {{"queue", "1"}}, "0.25"},
        {"pbxgate_policy_generation", {}, "3"},
        {"pbxgate_reloads_total", {}, "2"},
        {"pbxgate_reload_failures_total", {}, "1"},
        {"pbxgate_last_reload_success_timestamp_seconds", {}, "1700000000.5"},
        {"pbxgate_build_info", {{"version", PBXGATE_VERSION}}, "1"},
    };
    for (const auto& r : rows) {
        INFO(r.name << " " << r.value);
        CHECK(x.value(r.name, r.labels) == r.value);
    }
    // Every service x zone x verdict cell is a series, zeros included.
    CHECK(x.count("pbxgate_packets_total") == 4 * zone_count * 2);
    CHECK(x.count("pbxgate_decisions_total") == reason_count);
    // A queue without a /proc line has no kernel series rather than invented zeros.
    CHECK(x.value("pbxgate_queue_waiting_packets", {{"queue", "1"}}).empty());
}

TEST_CASE("prometheus: every family has HELP and TYPE; counters end in _total", "[metrics]") {
    const auto x = parse_exposition(format_prometheus(sample_snapshot()));
    REQUIRE_FALSE(x.samples.empty());
    for (const auto& s : x.samples) {
        INFO(s.name);
        REQUIRE(x.type.count(s.name) == 1);
        CHECK(x.help.count(s.name) == 1);
        CHECK(s.name.rfind("pbxgate_", 0) == 0);
        const bool total = s.name.size() > 6 && s.name.compare(s.name.size() - 6, 6, "_total") == 0;
        CHECK(total == (x.type.at(s.name) == "counter"));
    }
}

TEST_CASE("prometheus: label values are escaped", "[metrics]") {
    metrics_snapshot m;
    m.service_names = {"none", "we\"ird\\name\nx"};
    m.status.counters.packets_by[1][0][0] = 9;
    const auto x = parse_exposition(format_prometheus(m));
    REQUIRE(x.errors.empty());
    CHECK(x.value("pbxgate_packets_total", {{"verdict", "accept"}, {"service", "we\"ird\\name\nx"}, {"zone", "internet"}}) ==
          "9");
}

TEST_CASE("prometheus: promtool check metrics accepts the output (when installed)", "[metrics]") {
    if (std::system("command -v promtool >/dev/null 2>&1") != 0) {
        WARN("promtool not installed (Debian package prometheus): lint skipped");
        return;
    }
    const std::string path = "/tmp/pbxgate-metrics-lint-" + std::to_string(::getpid()) + ".txt";
    {
        std::ofstream f(path);
        f << format_prometheus(sample_snapshot());
    }
    const int rc = std::system(("promtool check metrics < " + path + " > " + path + ".out 2>&1").c_str());
    std::ifstream out(path + ".out");
    const std::string report((std::istreambuf_iterator<char>(out)), std::istreambuf_iterator<char>());
    INFO(report);
    CHECK(rc == 0);
    std::remove(path.c_str());
    std::remove((path + ".out").c_str());
}
