// The RCU publish/reclaim cycle under concurrent readers. Run under TSan and ASan too:
// a reader touching a freed policy shows up there as a use-after-free or a race.
#include <catch2/catch.hpp>

#include <netinet/in.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "reload/policy_slot.hpp"

using namespace pbxgate;

namespace {

// Generation parity decides the policy: odd generations open udp 5060, even ones 5160.
std::unique_ptr<const compiled_policy> sip_on(std::uint16_t port) {
    policy p;
    service_def sip;
    sip.name = "sip";
    sip.proto = proto_mask::udp;
    sip.ports = {{port, port}};
    sip.allow = all_allowable_zones;
    p.services.push_back(sip);
    return compiled_policy::compile(p);
}

packet_view udp_to(std::uint16_t port) {
    packet_view v;
    v.family = ip_family::v4;
    v.protocol = IPPROTO_UDP;
    v.src = *parse_address("203.0.113.9");
    v.dst = *parse_address("192.0.2.1");
    v.sport = 40000;
    v.dport = port;
    v.has_ports = true;
    return v;
}

}  // namespace

TEST_CASE("publish under concurrent readers: each burst sees one whole generation", "[rcu]") {
    policy_slot slot(sip_on(5060));
    std::atomic<bool> stop{false};
    std::atomic<int> mismatches{0};
    std::atomic<std::uint64_t> bursts{0};
    const packet_view p5060 = udp_to(5060), p5160 = udp_to(5160);

    auto reader = [&] {
        qsbr_reader registration;
        std::uint64_t last_generation = 0;
        while (!stop.load(std::memory_order_relaxed)) {
            const published_policy* pub = slot.current();
            if (pub->generation < last_generation) ++mismatches;  // generations never go back
            last_generation = pub->generation;
            const bool odd = pub->generation % 2 == 1;
            for (int i = 0; i < 64; ++i) {  // a "burst", judged by one generation
                const bool open5060 = pub->policy->classify(p5060, {}).action == verdict::accept;
                const bool open5160 = pub->policy->classify(p5160, {}).action == verdict::accept;
                if (open5060 != odd || open5160 == odd) ++mismatches;
            }
            ++bursts;
            qsbr_reader::quiescent();
        }
        qsbr_reader::offline();
    };
    std::vector<std::thread> readers;
    for (int i = 0; i < 3; ++i) readers.emplace_back(reader);

    std::uint64_t generation = 1;
    for (int i = 0; i < 200; ++i) {
        // Let the readers run between publishes, or a fast writer may finish before they
        // start (bounded: a descheduled reader must not hang the test).
        const std::uint64_t seen = bursts.load();
        const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(1);
        while (bursts.load() == seen && std::chrono::steady_clock::now() < give_up) std::this_thread::yield();
        const std::uint64_t g = slot.publish(sip_on(generation % 2 == 1 ? 5160 : 5060));
        CHECK(g == generation + 1);
        generation = g;
    }
    stop = true;
    for (auto& t : readers) t.join();
    CHECK(mismatches.load() == 0);
    CHECK(bursts.load() > 0);
    CHECK(slot.generation() == 201);
}

TEST_CASE("a reader gone offline does not hold up a publish", "[rcu]") {
    policy_slot slot(sip_on(5060));
    std::atomic<bool> go_on{false};
    std::thread blocked([&] {
        qsbr_reader registration;
        qsbr_reader::offline();  // as a worker does before a blocking recv
        while (!go_on.load()) std::this_thread::yield();
        qsbr_reader::online();
        CHECK(slot.current()->generation == 2);
        qsbr_reader::offline();
    });
    CHECK(slot.publish(sip_on(5160)) == 2);  // would hang forever if it waited on `blocked`
    go_on = true;
    blocked.join();
}

TEST_CASE("publish waits for an online reader that holds the policy", "[rcu]") {
    using namespace std::chrono_literals;
    policy_slot slot(sip_on(5060));
    std::atomic<bool> holding{false}, release{false}, released{false};
    std::atomic<bool> published{false}, returned_while_held{false}, old_policy_whole{false};
    std::thread reader([&] {
        qsbr_reader registration;
        const published_policy* pub = slot.current();
        holding = true;
        while (!release.load()) std::this_thread::yield();  // online, holding `pub`
        // Not freed under us: still generation 1 and still judging by it.
        old_policy_whole = pub->generation == 1 && pub->policy->classify(udp_to(5060), {}).action == verdict::accept;
        released = true;
        qsbr_reader::quiescent();
        qsbr_reader::offline();
    });
    while (!holding.load()) std::this_thread::yield();
    std::thread writer([&] {
        slot.publish(sip_on(5160));
        returned_while_held = !released.load();
        published = true;
    });
    // A publish that does not wait returns (and frees generation 1) well within this.
    std::this_thread::sleep_for(300ms);
    const bool published_early = published.load();
    release = true;
    writer.join();
    reader.join();
    CHECK_FALSE(published_early);
    CHECK_FALSE(returned_while_held.load());
    CHECK(old_policy_whole.load());
    CHECK(slot.generation() == 2);
}
