#include <catch2/catch.hpp>

#include <array>
#include <vector>

#include "fake_queue_backend.hpp"

using namespace pbxgate;
using namespace std::chrono_literals;

TEST_CASE("fake backend: scripted packets come out in bursts, verdicts are recorded", "[queue][fake]") {
    struct row {
        const char* name;
        std::size_t packets;
        std::size_t max_burst;
        std::size_t span;
        std::vector<std::size_t> bursts;  // expected burst sizes
    };
    const row rows[] = {
        {"fits one burst", 3, 64, 16, {3}},
        {"split by the backend's burst", 5, 2, 16, {2, 2, 1}},
        {"split by the caller's span", 5, 64, 3, {3, 2}},
        {"nothing queued", 0, 64, 16, {}},
    };
    for (const auto& r : rows) {
        INFO(r.name);
        fake_queue_backend q(4, r.max_burst);
        std::vector<std::uint32_t> ids;
        for (std::size_t i = 0; i < r.packets; ++i)
            ids.push_back(q.push({0x45, std::uint8_t(i)}, packet_meta{i == 0, std::uint32_t(i)}));
        std::vector<received_packet> buf(r.span);
        std::vector<std::size_t> bursts;
        while (true) {
            const auto res = q.receive_burst(buf, 0ms);
            if (res.status != receive_status::packets) {
                CHECK(res.status == receive_status::timeout);
                break;
            }
            bursts.push_back(res.count);
            for (std::size_t i = 0; i < res.count; ++i) {
                const auto& p = buf[i];
                CHECK(p.queue_num == 4);
                REQUIRE(p.captured_len == 2);
                CHECK(p.data[0] == 0x45);
                CHECK(p.meta.mark == p.data[1]);
                q.set_verdict(p.packet_id, p.meta.mark % 2 ? verdict::drop : verdict::accept,
                              p.meta.mark == 2 ? std::optional<std::uint32_t>(77) : std::nullopt);
            }
            CHECK(q.pending() == res.count);
            CHECK(q.flush());
        }
        CHECK(bursts == r.bursts);
        REQUIRE(q.verdicts().size() == r.packets);
        for (std::size_t i = 0; i < r.packets; ++i) {
            CHECK(q.verdicts()[i].id == ids[i]);
            CHECK((q.verdicts()[i].action == verdict::drop) == (i % 2 == 1));
            CHECK(q.verdicts()[i].mark == (i == 2 ? std::optional<std::uint32_t>(77) : std::nullopt));
        }
        CHECK(q.outstanding() == 0);
        CHECK(q.stats().netlink_errors == 0);
    }
}

TEST_CASE("fake backend: drain answers outstanding and queued packets", "[queue][fake]") {
    fake_queue_backend q(0, 2);
    for (int i = 0; i < 5; ++i) q.push({0x45});
    std::array<received_packet, 8> buf;
    REQUIRE(q.receive_burst(buf, 0ms).count == 2);
    q.set_verdict(buf[0].packet_id, verdict::drop);  // pending, not flushed; buf[1] never verdicted
    CHECK(q.drain(verdict::accept) == 4);            // buf[1] + three still queued
    REQUIRE(q.verdicts().size() == 5);
    CHECK(q.verdicts()[0].action == verdict::drop);
    CHECK_FALSE(q.verdicts()[0].by_drain);
    for (std::size_t i = 1; i < 5; ++i) {
        CHECK(q.verdicts()[i].action == verdict::accept);
        CHECK(q.verdicts()[i].by_drain);
    }
    CHECK(q.queued() == 0);
    CHECK(q.outstanding() == 0);
}

TEST_CASE("fake backend: scripted statuses and a verdict for an unknown id", "[queue][fake]") {
    fake_queue_backend q;
    std::array<received_packet, 4> buf;
    for (auto s : {receive_status::interrupted, receive_status::error}) {
        q.push({0x60});
        q.script_status(s);
        const auto res = q.receive_burst(buf, 0ms);
        CHECK(res.status == s);
        CHECK(res.count == 0);
        REQUIRE(q.receive_burst(buf, 0ms).count == 1);
        CHECK(buf[0].data[0] == 0x60);
        q.set_verdict(buf[0].packet_id, verdict::accept);
        q.flush();
    }
    q.set_verdict(999, verdict::accept);
    q.flush();
    CHECK(q.stats().netlink_errors == 1);
}
