// The worker over the in-memory queue backend: every packet gets exactly one verdict, the
// verdict the compiled policy gives (or accept in monitor mode), and counters and the drop
// log agree with what was sent.
#include <catch2/catch.hpp>

#include <atomic>
#include <set>
#include <thread>

#include "datapath/worker.hpp"
#include "fake_queue_backend.hpp"
#include "packet_builder.hpp"

using namespace pbxgate;
using pbxgate::test::packet_builder;

namespace {

std::unique_ptr<const compiled_policy> testbed_policy(engine_mode mode = engine_mode::enforce) {
    load_result r = load_policy(PBXGATE_SOURCE_DIR "/tests/data/policies/testbed.toml");
    REQUIRE(r.ok());
    r.value->engine.mode = mode;
    return compiled_policy::compile(*r.value);
}

struct traffic_row {
    const char* what;
    std::vector<std::uint8_t> bytes;
    packet_meta meta;
    verdict expected;
    reason why;
};

std::vector<traffic_row> traffic() {
    packet_meta on_lo;
    on_lo.from_loopback_interface = true;
    return {
        {"sip from internet", packet_builder::ipv4("203.0.113.10", "192.0.2.1").udp(5060, 5060).payload(300).build(), {},
         verdict::accept, reason::allowed},
        {"rtp from lan v6", packet_builder::ipv6("2001:db8:1::10", "2001:db8:1::1").udp(30000, 12000).payload(172).build(),
         {}, verdict::accept, reason::allowed},
        {"ssh from internet", packet_builder::ipv4("203.0.113.10", "192.0.2.1").tcp(50000, 22).build(), {}, verdict::drop,
         reason::zone_not_allowed},
        {"talk-node on lo", packet_builder::ipv4("192.0.2.1", "192.0.2.1").tcp(50000, 8443).build(), on_lo,
         verdict::accept, reason::allowed},
        {"blocked source", packet_builder::ipv4("203.0.113.200", "192.0.2.1").udp(5060, 5060).build(), {}, verdict::drop,
         reason::blocked},
        {"truncated udp", test::truncated(packet_builder::ipv4("203.0.113.10", "192.0.2.1").udp(1, 5060).build(), 24), {},
         verdict::drop, reason::malformed},
        {"unclaimed port", packet_builder::ipv4("198.51.100.10", "198.51.100.1").udp(1, 9999).build(), {}, verdict::drop,
         reason::no_service},
    };
}

}  // namespace

TEST_CASE("worker: one verdict per packet, the policy's, and counters that agree", "[engine]") {
    for (const engine_mode mode : {engine_mode::enforce, engine_mode::monitor}) {
        INFO((mode == engine_mode::monitor ? "monitor" : "enforce"));
        policy_slot slot(testbed_policy(mode));
        fake_queue_backend backend;
        worker w(backend, slot, {});
        const auto rows = traffic();
        std::vector<std::uint32_t> ids;
        for (const auto& row : rows) ids.push_back(backend.push(row.bytes, row.meta));

        std::array<received_packet, worker::max_burst> burst{};
        const auto r = backend.receive_burst(burst, std::chrono::milliseconds(0));
        REQUIRE(r.count == rows.size());
        w.judge_burst(std::span(burst.data(), r.count), *slot.current());

        const auto& sent = backend.verdicts();
        REQUIRE(sent.size() == rows.size());
        std::uint64_t drops = 0;
        for (std::size_t i = 0; i < rows.size(); ++i) {
            INFO(rows[i].what);
            CHECK(sent[i].id == ids[i]);
            const verdict given = mode == engine_mode::monitor ? verdict::accept : rows[i].expected;
            CHECK(sent[i].action == given);
            CHECK(w.counters().by_reason[static_cast<unsigned>(rows[i].why)].load() >= 1);
            if (rows[i].expected == verdict::drop) ++drops;
        }
        CHECK(w.counters().packets.load() == rows.size());
        if (mode == engine_mode::monitor) {
            CHECK(w.counters().dropped.load() == 0);
            CHECK(w.counters().would_drop.load() == drops);
        } else {
            CHECK(w.counters().dropped.load() == drops);
            CHECK(w.counters().would_drop.load() == 0);
        }
        // One drop record per dropped flow, marked as monitor when nothing was dropped.
        drop_record rec;
        std::uint64_t records = 0;
        while (w.drops().pop(rec)) {
            ++records;
            CHECK(rec.monitor == (mode == engine_mode::monitor));
            CHECK(rec.generation == 1);
        }
        CHECK(records == drops);
    }
}

TEST_CASE("worker: a flood from one flow costs one drop log record", "[engine]") {
    policy_slot slot(testbed_policy());
    fake_queue_backend backend;
    worker w(backend, slot, {});
    const auto probe = packet_builder::ipv4("203.0.113.10", "192.0.2.1").tcp(50000, 22).build();
    std::array<received_packet, worker::max_burst> burst{};
    for (int round = 0; round < 10; ++round) {
        for (int i = 0; i < 50; ++i) backend.push(probe);
        const auto r = backend.receive_burst(burst, std::chrono::milliseconds(0));
        w.judge_burst(std::span(burst.data(), r.count), *slot.current());
    }
    CHECK(w.counters().dropped.load() == 500);
    drop_record rec;
    int records = 0;
    while (w.drops().pop(rec)) ++records;
    CHECK(records == 1);
}

TEST_CASE("worker: on stop it judges what waits, then drains the rest, losing nothing", "[engine]") {
    policy_slot slot(testbed_policy());
    fake_queue_backend backend(0, 16);
    worker w(backend, slot, {});
    const auto sip = packet_builder::ipv4("203.0.113.10", "192.0.2.1").udp(5060, 5060).build();
    const int queued = 64 * 16 + 100;  // more than the bounded judging rounds take
    for (int i = 0; i < queued; ++i) backend.push(sip);
    std::atomic<bool> stop{true};
    {
        qsbr_reader registration;
        w.run(stop, verdict::drop);
    }
    const auto& sent = backend.verdicts();
    REQUIRE(sent.size() == static_cast<std::size_t>(queued));
    std::set<std::uint32_t> ids;
    std::size_t judged = 0, drained = 0;
    for (const auto& v : sent) {
        ids.insert(v.id);
        if (v.by_drain) {
            ++drained;
            CHECK(v.action == verdict::drop);  // the drain verdict
        } else {
            ++judged;
            CHECK(v.action == verdict::accept);  // judged by the policy: SIP is open
        }
    }
    CHECK(ids.size() == sent.size());  // exactly one verdict each
    CHECK(judged == 64 * 16);
    CHECK(drained == 100);
    CHECK(backend.stats().netlink_errors == 0);
}

TEST_CASE("worker: the queue is closed right after its drain, by the worker", "[engine]") {
    policy_slot slot(testbed_policy());
    fake_queue_backend backend;
    worker w(backend, slot, {});
    backend.push(packet_builder::ipv4("203.0.113.10", "192.0.2.1").udp(5060, 5060).build());
    std::atomic<bool> stop{true};
    {
        qsbr_reader registration;
        w.run(stop, verdict::accept);
    }
    CHECK(backend.drains() == 1);
    CHECK(backend.closed());  // not left to whoever destroys the backend later
}

namespace {

// Runs the worker's loop on its own thread for `how_long`, then stops it.
void run_for(worker& w, std::chrono::milliseconds how_long) {
    std::atomic<bool> stop{false};
    std::thread t([&] {
        qsbr_reader registration;
        w.run(stop, verdict::drop);
    });
    std::this_thread::sleep_for(how_long);
    stop = true;
    t.join();
}

}  // namespace

namespace {

// A queue that never runs dry: every receive returns a full burst at once, so the worker
// never blocks (and never goes offline waiting for packets).
class endless_backend final : public queue_backend {
public:
    explicit endless_backend(std::vector<std::uint8_t> packet) : packet_(std::move(packet)) {}
    receive_result receive_burst(std::span<received_packet> out, std::chrono::milliseconds) noexcept override {
        if (closed_) return {0, receive_status::error};
        for (received_packet& p : out) {
            p = received_packet{};
            p.packet_id = next_id_++;
            p.data = packet_.data();
            p.captured_len = p.wire_len = static_cast<std::uint32_t>(packet_.size());
        }
        stats_.packets += out.size();
        bursts.fetch_add(1);
        return {out.size(), receive_status::packets};
    }
    void set_verdict(std::uint32_t, verdict, std::optional<std::uint32_t>) noexcept override {}
    void set_repeat(std::uint32_t, std::uint32_t) noexcept override {}
    bool flush() noexcept override { return true; }
    std::size_t drain(verdict) noexcept override { return 0; }
    void close() noexcept override { closed_ = true; }
    const queue_stats& stats() const noexcept override { return stats_; }
    std::atomic<std::uint64_t> bursts{0};

private:
    std::vector<std::uint8_t> packet_;
    std::uint32_t next_id_ = 1;
    bool closed_ = false;
    queue_stats stats_;
};

}  // namespace

// The worker announces one quiescent state per burst (going offline before each receive):
// a reload must complete while the queue never runs dry.
TEST_CASE("worker: a reload completes while every receive returns a full burst", "[engine]") {
    policy_slot slot(testbed_policy());
    endless_backend backend(packet_builder::ipv4("203.0.113.10", "192.0.2.1").udp(5060, 5060).build());
    worker w(backend, slot, {});
    std::atomic<bool> stop{false};
    std::thread t([&] {
        qsbr_reader registration;
        w.run(stop, verdict::drop);
    });
    while (backend.bursts.load() < 10) std::this_thread::yield();
    std::atomic<bool> published{false};
    std::thread reload([&] {
        slot.publish(testbed_policy());
        published = true;
    });
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!published && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    const bool in_time = published.load();
    const std::uint64_t bursts_then = backend.bursts.load();
    stop = true;  // lets a stuck publish finish too: the worker unregisters
    t.join();
    reload.join();
    CHECK(in_time);
    CHECK(slot.generation() == 2);
    CHECK(bursts_then > 10);
}

TEST_CASE("worker: a receive that keeps failing backs off and leaves the heartbeat stale", "[engine]") {
    policy_slot slot(testbed_policy());
    fake_queue_backend backend;
    worker_settings ws;
    ws.poll = std::chrono::milliseconds(50);
    worker w(backend, slot, ws);
    backend.script_persistent_status(receive_status::error);
    run_for(w, std::chrono::milliseconds(400));
    // Backing off 1, 2, 4 ... 50 ms: about a dozen tries in 400 ms, not a spinning core.
    INFO("receive calls: " << backend.stats().recv_calls);
    CHECK(backend.stats().recv_calls < 40);
    CHECK(backend.stats().recv_calls >= 5);
    CHECK(w.counters().heartbeat_ns.load() == 0);  // the watchdog sees a worker that cannot receive

    // Against an idle queue (timeouts) the same loop does beat.
    fake_queue_backend idle;
    worker healthy(idle, slot, ws);
    run_for(healthy, std::chrono::milliseconds(100));
    CHECK(healthy.counters().heartbeat_ns.load() != 0);
}

TEST_CASE("worker: socket overruns are reported through the drop ring, not logged by the worker", "[engine]") {
    policy_slot slot(testbed_policy());
    fake_queue_backend backend;
    worker_settings ws;
    ws.poll = std::chrono::milliseconds(5);
    worker w(backend, slot, ws);
    backend.add_enobufs(3);
    run_for(w, std::chrono::milliseconds(30));
    drop_record rec;
    std::vector<drop_record> overruns;
    while (w.drops().pop(rec))
        if (rec.kind == record_kind::queue_overrun) overruns.push_back(rec);
    REQUIRE(overruns.size() == 1);
    CHECK(overruns[0].overruns == 3);
}
