// The engine observer end to end without a kernel: a worker judges scripted packets, and a
// scrape of the real metrics endpoint reports exactly what was sent, by verdict x service
// x zone, with names of the policy in force.
#include <catch2/catch.hpp>

#include <cmath>

#include "engine/engine_observer.hpp"
#include "metrics/stats_report.hpp"
#include "datapath/worker.hpp"
#include "fake_queue_backend.hpp"
#include "packet_builder.hpp"
#include "test_metrics_http_client.hpp"
#include "test_metrics_support.hpp"

using namespace pbxgate;
using pbxgate::test::packet_builder;

namespace {

std::unique_ptr<const compiled_policy> testbed_policy() {
    load_result r = load_policy(PBXGATE_SOURCE_DIR "/tests/data/policies/testbed.toml");
    REQUIRE(r.ok());
    return compiled_policy::compile(*r.value);
}

struct sent_row {
    const char* what;
    std::vector<std::uint8_t> bytes;
    int copies;
    const char* verdict;
    const char* service;
    const char* zone;
};

}  // namespace

TEST_CASE("observer: a scrape reports the traffic the worker judged", "[metrics]") {
    policy_slot slot(testbed_policy());
    fake_queue_backend backend;
    worker w(backend, slot, {});
    const std::vector<sent_row> rows = {
        {"sip from internet", packet_builder::ipv4("203.0.113.10", "192.0.2.1").udp(5060, 5060).payload(300).build(), 3,
         "accept", "sip", "internet"},
        {"ssh from internet", packet_builder::ipv4("203.0.113.10", "192.0.2.1").tcp(50000, 22).build(), 5, "drop", "ssh",
         "internet"},
        {"ssh from lan v6", packet_builder::ipv6("2001:db8:1::10", "2001:db8:1::1").tcp(50000, 22).build(), 2, "accept",
         "ssh", "lan"},
        {"unclaimed port from trusted", packet_builder::ipv4("198.51.100.10", "198.51.100.1").udp(1, 9999).build(), 4,
         "drop", "none", "trusted"},
        {"blocked source", packet_builder::ipv4("203.0.113.200", "192.0.2.1").udp(5060, 5060).build(), 1, "drop", "none",
         "blocked"},  // judged before any service: blocked loses whatever the port
    };
    std::uint64_t total = 0;
    std::array<received_packet, worker::max_burst> burst{};
    for (const auto& row : rows) {
        for (int i = 0; i < row.copies; ++i) backend.push(row.bytes);
        const auto r = backend.receive_burst(burst, std::chrono::milliseconds(0));
        REQUIRE(r.count == static_cast<std::size_t>(row.copies));
        w.judge_burst(std::span(burst.data(), r.count), *slot.current());
        total += static_cast<std::uint64_t>(row.copies);
    }

    engine_settings eng;
    eng.metrics = "127.0.0.1:0";
    const std::vector<std::uint16_t> queues{7};
    const std::vector<const worker_counters*> counters{&w.counters()};
    engine_observer obs;
    obs.start(eng, queues, counters, *slot.current());
    REQUIRE(obs.metrics_port() != 0);

    const std::string resp = test::http_exchange(obs.metrics_port(), "GET /metrics HTTP/1.0\r\n\r\n");
    REQUIRE(resp.rfind("HTTP/1.0 200 OK", 0) == 0);
    const auto x = test::parse_exposition(test::http_body(resp));
    REQUIRE(x.errors.empty());
    std::uint64_t summed = 0;
    for (const auto& s : x.samples)
        if (s.name == "pbxgate_packets_total") summed += std::stoull(s.value);
    CHECK(summed == total);
    for (const auto& row : rows) {
        INFO(row.what);
        CHECK(x.value("pbxgate_packets_total", {{"verdict", row.verdict}, {"service", row.service}, {"zone", row.zone}}) ==
              std::to_string(row.copies));
        const std::uint64_t bytes = row.bytes.size() * static_cast<std::size_t>(row.copies);
        CHECK(x.value("pbxgate_bytes_total", {{"verdict", row.verdict}, {"service", row.service}, {"zone", row.zone}}) ==
              std::to_string(bytes));
    }
    CHECK(x.value("pbxgate_policy_generation") == "1");
    CHECK(x.value("pbxgate_reloads_total") == "0");
    CHECK(x.count("pbxgate_worker_heartbeat_age_seconds") == 1);
    CHECK_FALSE(x.value("pbxgate_worker_heartbeat_age_seconds", {{"queue", "7"}}).empty());

    // A reload: refused, then accepted; generation and counts follow.
    obs.reloaded(false, *slot.current());
    slot.publish(testbed_policy());
    obs.reloaded(true, *slot.current());
    const metrics_snapshot m = obs.snapshot();
    CHECK(m.status.generation == 2);
    CHECK(m.status.reloads == 1);
    CHECK(m.status.reload_failures == 1);
    CHECK(m.status.last_reload_success_unix >= m.start_time_unix);
    REQUIRE(m.service_names.size() == slot.current()->policy->service_count() + 1);
    CHECK(m.service_names[0] == "none");

    const std::uint16_t port = obs.metrics_port();
    obs.stop();
    CHECK(obs.metrics_port() == 0);
    CHECK(test::http_exchange(port, "GET /metrics HTTP/1.0\r\n\r\n").empty());
}

TEST_CASE("observer: metrics off, or an address that cannot bind, never stops the engine", "[metrics]") {
    policy_slot slot(testbed_policy());
    const std::vector<std::uint16_t> queues{0};
    const std::vector<const worker_counters*> counters;
    for (const char* address : {"", "192.0.2.123:9477"}) {  // off; an address this host does not have
        INFO(address);
        engine_settings eng;
        eng.metrics = address;
        engine_observer obs;
        obs.start(eng, queues, counters, *slot.current());
        CHECK(obs.metrics_port() == 0);
        CHECK(obs.snapshot().status.generation == 1);
    }
}

TEST_CASE("observer: stats file and metrics report the same reload counts, before and after a reload", "[metrics]") {
    policy_slot slot(testbed_policy());
    const std::vector<std::uint16_t> queues{0};
    const std::vector<const worker_counters*> counters;
    engine_settings eng;
    eng.metrics = "";
    engine_observer obs;
    obs.start(eng, queues, counters, *slot.current());

    // What the stats file says (JSON, whole seconds) and what a scrape says.
    const auto json_last_ok = [&] {
        engine_status s;
        obs.copy_reload_counts(s);
        const std::string json = format_status_json(s, *slot.current()->policy);
        const std::string key = "\"last_reload_ok\":";
        const auto at = json.find(key);
        REQUIRE(at != std::string::npos);
        return std::stod(json.substr(at + key.size()));
    };
    const auto metrics_last_ok = [&] {
        const auto x = test::parse_exposition(format_prometheus(obs.snapshot()));
        return std::stod(x.value("pbxgate_last_reload_success_timestamp_seconds"));
    };

    // Before any reload the startup load is the last successful one, for both.
    const double started = obs.snapshot().start_time_unix;
    REQUIRE(started > 0);
    CHECK(json_last_ok() == std::floor(started));
    CHECK(metrics_last_ok() == Approx(started).margin(1e-3));

    obs.reloaded(false, *slot.current());
    slot.publish(testbed_policy());
    obs.reloaded(true, *slot.current());
    engine_status s;
    obs.copy_reload_counts(s);
    const metrics_snapshot m = obs.snapshot();
    CHECK(s.reloads == m.status.reloads);
    CHECK(s.reload_failures == m.status.reload_failures);
    CHECK(json_last_ok() == std::floor(metrics_last_ok()));
    CHECK(json_last_ok() >= std::floor(started));
}
