// The worker's receive loop over the in-memory backend: a receive that reports no packets
// (interrupted by a signal, or a socket error) costs no packet; what comes next is judged.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>

#include "datapath/worker.hpp"
#include "fake_queue_backend.hpp"
#include "packet_builder.hpp"

using namespace pbxgate;
using pbxgate::test::packet_builder;

namespace {

std::unique_ptr<const compiled_policy> testbed_policy() {
    load_result r = load_policy(PBXGATE_SOURCE_DIR "/tests/data/policies/testbed.toml");
    REQUIRE(r.ok());
    return compiled_policy::compile(*r.value);
}

}  // namespace

TEST_CASE("worker: after an interrupted or failed receive the next packets are judged, not drained", "[engine]") {
    for (const receive_status status : {receive_status::interrupted, receive_status::error}) {
        INFO((status == receive_status::interrupted ? "interrupted" : "error"));
        policy_slot slot(testbed_policy());
        fake_queue_backend backend;
        worker w(backend, slot, {});
        const auto ssh = packet_builder::ipv4("203.0.113.10", "192.0.2.1").tcp(50000, 22).build();
        const auto sip = packet_builder::ipv4("203.0.113.10", "192.0.2.1").udp(5060, 5060).build();
        backend.push(ssh);
        backend.push(sip);
        backend.script_status(status);
        std::atomic<bool> stop{false};
        std::thread t([&] {
            qsbr_reader registration;
            w.run(stop, verdict::accept);
        });
        // Bounded: a worker that never judges them fails here, it does not hang the test.
        const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (w.counters().packets.load() < 2 && std::chrono::steady_clock::now() < give_up)
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        stop = true;
        t.join();
        REQUIRE(backend.verdicts().size() == 2);
        // Judged by the policy (ssh from the internet is dropped), not given the drain's accept.
        CHECK(backend.verdicts()[0].action == verdict::drop);
        CHECK_FALSE(backend.verdicts()[0].by_drain);
        CHECK(backend.verdicts()[1].action == verdict::accept);
        CHECK_FALSE(backend.verdicts()[1].by_drain);
        CHECK(w.counters().packets.load() == 2);
    }
}
