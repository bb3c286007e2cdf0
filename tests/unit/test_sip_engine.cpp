// SIP protection inside the engine: the worker's SIP stage over the in-memory queue backend
// (scanner dropped and banned, one ban record through the drop-log ring, monitor mode only
// "would ban"), the ban log line, and the Prometheus families.
#include <catch2/catch.hpp>

#include <string>

#include "datapath/drop_log.hpp"
#include "datapath/worker.hpp"
#include "fake_queue_backend.hpp"
#include "metrics/prometheus_text.hpp"
#include "packet_builder.hpp"

using namespace pbxgate;
using pbxgate::test::packet_builder;

namespace {

std::unique_ptr<const compiled_policy> testbed_policy(engine_mode mode) {
    load_result r = load_policy(PBXGATE_SOURCE_DIR "/tests/data/policies/testbed.toml");
    REQUIRE(r.ok());
    r.value->engine.mode = mode;
    return compiled_policy::compile(*r.value);
}

std::string options(const std::string& ua, unsigned cseq) {
    return "OPTIONS sip:100@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 203.0.113.10;branch=z9hG4bK" + std::to_string(cseq) +
           "\r\nFrom: <sip:100@x>;tag=1\r\nCall-ID: c" + std::to_string(cseq) + "\r\nCSeq: " + std::to_string(cseq) +
           " OPTIONS\r\nUser-Agent: " + ua + "\r\n\r\n";
}

}  // namespace

TEST_CASE("sip engine: a scanner is dropped at its first request, then its source is banned", "[engine][sip]") {
    for (const engine_mode mode : {engine_mode::enforce, engine_mode::monitor}) {
        const bool monitor = mode == engine_mode::monitor;
        INFO((monitor ? "monitor" : "enforce"));
        policy_slot slot(testbed_policy(mode));
        protect::sip_guard guard(4096, 32, 64);
        fake_queue_backend backend;
        worker_settings ws;
        ws.guard = &guard;
        worker w(backend, slot, ws);
        const auto pkt = [](const std::string& text) {
            return packet_builder::ipv4("203.0.113.10", "192.0.2.1").udp(5060, 5060).payload(text).build();
        };
        backend.push(pkt(options("friendly-scanner", 1)));
        backend.push(pkt(options("Yealink", 2)));                                 // same source: banned
        backend.push(pkt("\r\n\r\n"));                                            // keepalive: banned too
        backend.push(packet_builder::ipv4("203.0.113.50", "192.0.2.1").udp(5060, 5060).payload(options("Yealink", 3)).build());
        backend.push(packet_builder::ipv4("203.0.113.50", "192.0.2.1").udp(5060, 5060).payload(200).build());  // not SIP
        std::array<received_packet, worker::max_burst> burst{};
        const auto r = backend.receive_burst(burst, std::chrono::milliseconds(0));
        REQUIRE(r.count == 5);
        w.judge_burst(std::span(burst.data(), r.count), *slot.current());

        const auto& sent = backend.verdicts();
        REQUIRE(sent.size() == 5);
        const verdict dropped = monitor ? verdict::accept : verdict::drop;
        CHECK(sent[0].action == dropped);
        CHECK(sent[1].action == dropped);
        CHECK(sent[2].action == dropped);
        CHECK(sent[3].action == verdict::accept);
        CHECK(sent[4].action == verdict::accept);  // not SIP: judged by the port policy
        CHECK(w.counters().by_reason[static_cast<unsigned>(reason::scanner)].load() == 1);
        CHECK(w.counters().by_reason[static_cast<unsigned>(reason::banned)].load() == 2);
        const auto& sc = w.sip_counters();
        CHECK(sc.malformed_sip.load() == 1);
        CHECK(sc.bans[static_cast<unsigned>(protect::ban_reason::scanner)].load() == 1);
        CHECK(sc.requests[static_cast<unsigned>(sip::method::options)][static_cast<unsigned>(zone::internet)].load() == 3);

        // One ban record among the drop records, with the evidence.
        drop_record rec;
        unsigned bans = 0;
        while (w.drops().pop(rec)) {
            if (rec.kind != record_kind::ban) continue;
            ++bans;
            const std::string line = format_ban(rec.ban);
            CHECK(line == std::string(monitor ? "would ban" : "ban") +
                              " 203.0.113.10/32 reason scanner (scanner signature \"friendly-scanner\") for 86400 s");
        }
        CHECK(bans == 1);
        CHECK(guard.list_bans(1'700'000'000).size() == (monitor ? 0u : 1u));
    }
}

TEST_CASE("sip engine: Prometheus families for SIP protection", "[metrics][sip]") {
    metrics_snapshot m;
    m.sip.present = true;
    m.sip.requests[static_cast<unsigned>(sip::method::register_)][static_cast<unsigned>(zone::internet)] = 7;
    m.sip.responses[4] = 3;
    m.sip.bans[static_cast<unsigned>(protect::ban_reason::auth_failures)] = 2;
    m.sip.banned = 2;
    m.sip.evictions = 9;
    const std::string text = format_prometheus(m);
    CHECK(text.find("pbxgate_sip_requests_total{method=\"REGISTER\",zone=\"internet\"} 7") != std::string::npos);
    CHECK(text.find("pbxgate_sip_responses_total{class=\"4xx\"} 3") != std::string::npos);
    CHECK(text.find("pbxgate_sip_bans_total{reason=\"auth_failures\"} 2") != std::string::npos);
    CHECK(text.find("pbxgate_sip_sources{state=\"banned\"} 2") != std::string::npos);
    CHECK(text.find("pbxgate_sip_evictions_total 9") != std::string::npos);
    metrics_snapshot off;
    CHECK(format_prometheus(off).find("pbxgate_sip_") == std::string::npos);
}
