// Negotiated media inside the engine: the worker's SIP stage learns the call's SDP (the
// phone's INVITE in, the PBX's 200 OK out), then RTP is accepted by its pinhole and
// offloaded, RTP from a third internet address is dropped (no_pinhole), LAN media keeps the
// open range, monitor mode counts and drops nothing, and after BYE + grace the call's RTP
// is dropped too.
#include <catch2/catch.hpp>

#include <string>

#include "datapath/drop_log.hpp"
#include "datapath/worker.hpp"
#include "fake_queue_backend.hpp"
#include "media/media_report.hpp"
#include "packet_builder.hpp"
#include "sdp_samples.hpp"

using namespace pbxgate;
using pbxgate::test::packet_builder;

namespace {

std::unique_ptr<const compiled_policy> testbed_policy(engine_mode mode, bool negotiated = true) {
    load_result r = load_policy(PBXGATE_SOURCE_DIR "/tests/data/policies/testbed.toml");
    REQUIRE(r.ok());
    r.value->engine.mode = mode;
    r.value->media.grace_s = 0;  // BYE closes at once: the test runs within one second
    if (!negotiated)
        for (auto& s : r.value->services) s.media = media_mode::open;
    return compiled_policy::compile(*r.value);
}

constexpr std::uint8_t hook_local_out = 3;

struct rig {
    policy_slot slot;
    protect::sip_guard guard{4096, 32, 64};
    media::pinhole_table pinholes{4096};
    fake_queue_backend backend;
    worker w;
    explicit rig(std::unique_ptr<const compiled_policy> p)
        : slot(std::move(p)), w(backend, slot, settings()) {}
    worker_settings settings() {
        worker_settings ws;
        ws.guard = &guard;
        ws.pinholes = &pinholes;
        return ws;
    }
    // Judges one packet; returns its recorded verdict.
    fake_queue_backend::recorded_verdict judge(std::vector<std::uint8_t> bytes, std::uint8_t hook = 0) {
        backend.push(std::move(bytes));
        std::array<received_packet, worker::max_burst> burst{};
        const auto r = backend.receive_burst(burst, std::chrono::milliseconds(0));
        REQUIRE(r.count == 1);
        burst[0].hook = hook;
        w.judge_burst(std::span(burst.data(), 1), *slot.current());
        REQUIRE(!backend.verdicts().empty());
        return backend.verdicts().back();
    }
};

std::vector<std::uint8_t> sip_in(const std::string& text) {
    return packet_builder::ipv4("203.0.113.10", "192.0.2.1").udp(5060, 5060).payload(text).build();
}
std::vector<std::uint8_t> sip_out(const std::string& text) {
    return packet_builder::ipv4("192.0.2.1", "203.0.113.10").udp(5060, 5060).payload(text).build();
}
std::vector<std::uint8_t> rtp(const char* from, std::uint16_t port) {
    return packet_builder::ipv4(from, "192.0.2.1").udp(40000, port).payload(172).build();
}

unsigned by_reason(const worker& w, reason r) { return static_cast<unsigned>(w.counters().by_reason[static_cast<unsigned>(r)].load()); }

}  // namespace

TEST_CASE("media engine: a call's RTP passes by its pinhole, injected RTP is dropped", "[engine][media]") {
    for (const engine_mode mode : {engine_mode::enforce, engine_mode::monitor}) {
        const bool monitor = mode == engine_mode::monitor;
        INFO((monitor ? "monitor" : "enforce"));
        rig r(testbed_policy(mode));
        // Before any SDP, internet RTP has no pinhole.
        CHECK(r.judge(rtp("203.0.113.7", 10000)).action == (monitor ? verdict::accept : verdict::drop));
        CHECK(r.judge(sip_in(test::invite_with_sdp("call-1@x", "203.0.113.7", 40000))).action == verdict::accept);
        CHECK(r.judge(sip_out(test::ok_with_sdp("call-1@x", "192.0.2.1", 10000)), hook_local_out).action ==
              verdict::accept);
        const auto from_c = r.judge(rtp("203.0.113.7", 10000));
        CHECK(from_c.action == verdict::accept);
        CHECK(from_c.repeat);  // offloaded like any accepted RTP flow
        CHECK(r.judge(rtp("203.0.113.7", 10001)).action == verdict::accept);   // RTCP
        CHECK(r.judge(rtp("203.0.113.10", 10000)).action == verdict::accept);  // the SIP peer (NAT)
        const auto injected = r.judge(rtp("203.0.113.9", 10000));
        CHECK(injected.action == (monitor ? verdict::accept : verdict::drop));
        CHECK_FALSE(injected.repeat);
        CHECK(r.judge(rtp("192.0.2.50", 10002)).action == verdict::accept);  // LAN: the open range
        CHECK(by_reason(r.w, reason::pinhole) == 3);
        CHECK(by_reason(r.w, reason::no_pinhole) == 2);
        CHECK(r.w.counters().would_drop.load() == (monitor ? 2u : 0u));
        CHECK(r.w.media_counters().sdp_bodies.load() == 2);

        // The drop record of the injected flow, and the note the engine adds to its line.
        drop_record rec;
        bool seen = false;
        while (r.w.drops().pop(rec))
            if (rec.why == reason::no_pinhole && rec.src == *parse_address("203.0.113.9")) seen = true;
        CHECK(seen);
        const std::string note = media::no_pinhole_note(r.pinholes, 10000, *parse_address("203.0.113.9"),
                                                        protect::sip_guard::monotonic_now(), media::timeouts{0, 180});
        CHECK(note.find("from 203.0.113.9, expected 203.0.113.") == 0);
        CHECK(note.find("Call-ID call-1@x") != std::string::npos);

        // BYE (grace 0 here): the call's RTP is judged again and dropped.
        CHECK(r.judge(sip_in(test::bye("call-1@x"))).action == verdict::accept);
        CHECK(r.judge(rtp("203.0.113.7", 10000)).action == (monitor ? verdict::accept : verdict::drop));
        CHECK(by_reason(r.w, reason::no_pinhole) == 3);
    }
}

TEST_CASE("media engine: media = \"open\" judges RTP by port and zone only", "[engine][media]") {
    rig r(testbed_policy(engine_mode::enforce, false));
    const auto v = r.judge(rtp("203.0.113.9", 10000));
    CHECK(v.action == verdict::accept);
    CHECK(by_reason(r.w, reason::allowed) == 1);
    CHECK(by_reason(r.w, reason::no_pinhole) == 0);
}

TEST_CASE("media engine: SIP that does not parse is judged by the SIP rules, never for its SDP", "[engine][media]") {
    rig r(testbed_policy(engine_mode::enforce));
    // A body that claims SDP but is not: the INVITE passes, nothing opens.
    const std::string broken = test::sip_with_body("INVITE sip:200@192.0.2.1 SIP/2.0", "c-broken", "1 INVITE", "garbage");
    CHECK(r.judge(sip_in(broken)).action == verdict::accept);
    CHECK(r.w.media_counters().sdp_unreadable.load() == 1);
    // Not SIP at all on the SIP port: the port policy decides (accepted), no SDP read.
    CHECK(r.judge(packet_builder::ipv4("203.0.113.10", "192.0.2.1").udp(5060, 5060).payload(300).build()).action ==
          verdict::accept);
}
