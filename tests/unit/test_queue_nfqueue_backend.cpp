// nfqueue_backend against a model of the kernel queue (kernel_queue_model.hpp): binding,
// stashed packets, verdict order, failed sends, a full verdict store, drain and close.
#include <catch2/catch.hpp>

#include <array>
#include <map>

#include "kernel_queue_model.hpp"
#include "queue/nfqueue_backend.hpp"

using namespace pbxgate;
using pbxgate::test::kernel_queue_model;
using pbxgate::test::kernel_queue_state;
using namespace std::chrono_literals;

namespace {

struct rig {
    std::shared_ptr<kernel_queue_state> k = std::make_shared<kernel_queue_state>();
    std::unique_ptr<nfqueue_backend> q;

    explicit rig(nfqueue_settings s = small(), std::size_t racing = 0) {
        k->queue_num = s.queue_num;
        k->packets_before_ack = racing;
        q = std::make_unique<nfqueue_backend>(s, std::make_unique<kernel_queue_model>(k));
    }
    static nfqueue_settings small() {
        nfqueue_settings s;
        s.queue_num = 3;
        s.copy_range = 256;
        s.queue_maxlen = 1000;
        s.burst = 8;
        s.pending_verdicts = 8;
        s.loopback_ifindex = 1;
        return s;
    }
    receive_result receive(std::span<received_packet> out) { return q->receive_burst(out, 0ms); }
};

std::uint32_t nf(verdict v) { return v == verdict::accept ? NF_ACCEPT : NF_DROP; }

}  // namespace

TEST_CASE("nfqueue_backend: binds with one FLAGS/MASK pair, GSO, fail-open as overflow says, no conntrack", "[queue][backend]") {
    for (const bool open : {false, true}) {
        INFO("overflow_accept " << open);
        auto s = rig::small();
        s.overflow_accept = open;  // queue full: the kernel accepts (FAIL_OPEN) only when asked
        rig r(s);
        REQUIRE(r.k->bound);
        REQUIRE_FALSE(r.k->configs.empty());
        for (const auto& c : r.k->configs) {
            CHECK(c.flag_attrs <= 1);  // the kernel keeps only the last pair of a message
            CHECK(c.flag_attrs == c.mask_attrs);
            CHECK((c.flags & NFQA_CFG_F_CONNTRACK) == 0);  // nothing reads NFQA_CT
        }
        const auto& bind = r.k->configs.back();
        CHECK(bind.cmd == NFQNL_CFG_CMD_BIND);
        CHECK(bind.maxlen == std::optional<std::uint32_t>(1000));
        CHECK((r.k->flags & NFQA_CFG_F_GSO) != 0);
        CHECK(((r.k->flags & NFQA_CFG_F_FAIL_OPEN) != 0) == open);
        CHECK((r.k->flags & NFQA_CFG_F_CONNTRACK) == 0);
    }
}

TEST_CASE("nfqueue_backend: packets that race the bind ack are stashed and handed out first", "[queue][backend]") {
    rig r(rig::small(), 3);
    std::array<received_packet, 8> buf;
    const auto res = r.receive(buf);
    REQUIRE(res.count == 3);
    CHECK(r.k->receive_calls == 4);  // wait_ack read them and the ack; the first burst made no syscall
    for (std::size_t i = 0; i < 3; ++i) {
        CHECK(buf[i].packet_id == i + 1);
        r.q->set_verdict(buf[i].packet_id, verdict::accept);
    }
    REQUIRE(r.q->flush());
    CHECK(r.k->queued.empty());
    CHECK(r.k->verdicts.size() == 3);
}

TEST_CASE("nfqueue_backend: verdicts reach the kernel in id order, whatever order they were given", "[queue][backend]") {
    rig r;
    for (int i = 0; i < 6; ++i) r.k->enqueue();
    std::array<received_packet, 8> buf;
    REQUIRE(r.receive(buf).count == 6);
    r.q->set_verdict(6, verdict::drop);
    r.q->set_repeat(4, 0x00100002);
    r.q->set_verdict(2, verdict::accept);
    r.q->set_verdict(1, verdict::accept);
    r.q->set_verdict(5, verdict::accept);
    r.q->set_verdict(3, verdict::accept);
    REQUIRE(r.q->flush());
    REQUIRE(r.k->verdicts.size() == 6);
    const std::uint32_t want[] = {NF_ACCEPT, NF_ACCEPT, NF_ACCEPT, NF_REPEAT, NF_ACCEPT, NF_DROP};
    for (std::uint32_t i = 0; i < 6; ++i) {
        INFO("position " << i);
        CHECK(r.k->verdicts[i].id == i + 1);
        CHECK(r.k->verdicts[i].nf_verdict == want[i]);
    }
    CHECK(r.k->verdicts[3].mark == std::optional<std::uint32_t>(0x00100002));
    CHECK(r.k->unknown_ids == 0);
    CHECK(r.q->stats().batch_messages == 1);  // 1..3 in one batch, then 4, 5, 6 alone
}

TEST_CASE("nfqueue_backend: a failed send loses no verdict, and no batch answers for it", "[queue][backend]") {
    rig r;
    for (int i = 0; i < 4; ++i) r.k->enqueue();
    std::array<received_packet, 8> buf;
    REQUIRE(r.receive(buf).count == 4);
    r.q->set_verdict(1, verdict::drop);
    for (std::uint32_t id = 2; id <= 4; ++id) r.q->set_verdict(id, verdict::accept);
    r.k->fail_sends = 1;
    CHECK_FALSE(r.q->flush());
    CHECK(r.k->verdicts.empty());
    CHECK(r.q->unsent_verdicts() == 4);
    CHECK(r.q->stats().send_errors == 1);

    // The next burst: accepts that would batch over ids 1..6 if the drop had been forgotten.
    r.k->enqueue();
    r.k->enqueue();
    const auto res = r.receive(buf);
    REQUIRE(res.count == 2);
    for (std::size_t i = 0; i < res.count; ++i) r.q->set_verdict(buf[i].packet_id, verdict::accept);
    REQUIRE(r.q->flush());
    REQUIRE(r.k->verdicts.size() == 6);
    for (std::uint32_t id = 1; id <= 6; ++id) {
        INFO("id " << id);
        CHECK(r.k->times_verdicted(id) == 1);
        CHECK(r.k->verdict_of(id)->nf_verdict == (id == 1 ? NF_DROP : NF_ACCEPT));
        CHECK(r.k->verdicts[id - 1].id == id);
    }
    CHECK(r.k->unknown_ids == 0);
    CHECK(r.q->stats().resent_verdicts == 4);
    CHECK(r.q->stats().verdicts == 6);
}

TEST_CASE("nfqueue_backend: while sends keep failing it takes in no more packets than it can hold verdicts for",
          "[queue][backend]") {
    rig r;
    const int total = 60;
    for (int i = 0; i < total; ++i) r.k->enqueue();
    r.k->fail_sends = 1000;
    std::map<std::uint32_t, verdict> given;
    std::array<received_packet, 8> buf;
    auto judge = [&](const receive_result& res) {
        for (std::size_t i = 0; i < res.count; ++i) {
            const verdict v = buf[i].packet_id % 3 == 0 ? verdict::drop : verdict::accept;
            given[buf[i].packet_id] = v;
            r.q->set_verdict(buf[i].packet_id, v);
        }
        r.q->flush();
    };
    receive_result res;
    int rounds = 0;
    do {
        res = r.receive(buf);
        judge(res);
    } while (res.status == receive_status::packets && ++rounds < 100);
    CHECK(res.status == receive_status::error);  // full: the worker backs off
    CHECK(r.k->verdicts.empty());
    CHECK(r.q->unsent_verdicts() == given.size());
    CHECK(given.size() < static_cast<std::size_t>(total));  // it stopped taking packets in

    r.k->fail_sends = 0;  // the socket recovers: everything goes, nothing twice, nothing lost
    for (rounds = 0; rounds < 100; ++rounds) {
        res = r.receive(buf);
        if (res.count == 0) break;
        judge(res);
    }
    REQUIRE(given.size() == static_cast<std::size_t>(total));
    CHECK(r.k->verdicts.size() == given.size());
    for (const auto& [id, v] : given) {
        INFO("id " << id);
        REQUIRE(r.k->times_verdicted(id) == 1);
        CHECK(r.k->verdict_of(id)->nf_verdict == nf(v));
    }
    for (std::size_t i = 1; i < r.k->verdicts.size(); ++i) CHECK(r.k->verdicts[i - 1].id < r.k->verdicts[i].id);
    CHECK(r.k->unknown_ids == 0);
    CHECK(r.q->stats().resent_verdicts > 0);
}

TEST_CASE("nfqueue_backend: drain answers outstanding and waiting packets and shuts the door first", "[queue][backend]") {
    for (const verdict v : {verdict::accept, verdict::drop}) {
        INFO("drain verdict " << (v == verdict::accept ? "accept" : "drop"));
        auto s = rig::small();
        s.fail_open = v == verdict::accept;
        rig r(s);
        for (int i = 0; i < 20; ++i) r.k->enqueue();
        std::array<received_packet, 8> buf;
        REQUIRE(r.receive(buf).count == 8);
        r.q->set_verdict(1, verdict::accept);  // 2..8 stay outstanding
        r.k->packets_before_ack = 2;           // arrive while the door closes
        const std::size_t drained = r.q->drain(v);
        INFO("configs " << r.k->configs.size() << " socket " << r.k->socket.size() << " queued " << r.k->queued.size()
             << " sends " << r.k->send_calls << " recvs " << r.k->receive_calls);
        CHECK(drained == 7 + 12 + 2);
        CHECK(r.k->queued.empty());
        CHECK(r.k->verdicts.size() == 22);
        for (std::uint32_t id = 2; id <= 22; ++id) CHECK(r.k->verdict_of(id)->nf_verdict == nf(v));
        // The door: queue length 0, so a newcomer takes the queue-full path, never waits.
        CHECK(r.k->maxlen == 0);
        r.k->enqueue();
        CHECK(r.k->queued.empty());
        if (v == verdict::accept) CHECK(r.k->overflow_accepted.size() == 1);
        else CHECK(r.k->overflow_dropped.size() == 1);
        r.q->close();
        CHECK(r.k->closed);
        CHECK(r.k->dropped_at_close.empty());
        CHECK(r.k->unknown_ids == 0);
    }
}

TEST_CASE("nfqueue_backend: closing without a drain drains with the fail-mode verdict", "[queue][backend]") {
    auto s = rig::small();
    s.fail_open = true;
    rig r(s);
    for (int i = 0; i < 3; ++i) r.k->enqueue();
    r.q.reset();
    CHECK(r.k->closed);
    CHECK(r.k->dropped_at_close.empty());
    REQUIRE(r.k->verdicts.size() == 3);
    for (const auto& v : r.k->verdicts) CHECK(v.nf_verdict == NF_ACCEPT);
}

TEST_CASE("nfqueue_backend: receive errors, overruns and messages it cannot parse", "[queue][backend]") {
    rig r;
    std::array<received_packet, 8> buf;
    // ENOBUFS: counted, and the receive goes on to the packet behind it.
    r.k->enqueue();
    r.k->receive_errors.push_back(ENOBUFS);
    auto res = r.receive(buf);
    CHECK(res.count == 1);
    CHECK(r.q->stats().enobufs == 1);
    r.q->set_verdict(buf[0].packet_id, verdict::accept);
    r.q->flush();
    // Any other error is reported, for the caller to back off.
    r.k->receive_errors.push_back(EBADF);
    res = r.receive(buf);
    CHECK(res.status == receive_status::error);
    CHECK(r.q->stats().recv_errors == 1);
    // An unparseable message with a readable id gets the fail verdict (drop), not a batch's.
    const auto bad = r.k->enqueue_without_payload();
    const auto good = r.k->enqueue();
    res = r.receive(buf);
    REQUIRE(res.count == 1);
    CHECK(buf[0].packet_id == good);
    r.q->set_verdict(good, verdict::accept);
    REQUIRE(r.q->flush());
    CHECK(r.k->verdict_of(bad)->nf_verdict == NF_DROP);
    CHECK(r.k->verdict_of(good)->nf_verdict == NF_ACCEPT);
    CHECK(r.q->stats().parse_errors == 1);
    CHECK(r.k->unknown_ids == 0);
}

TEST_CASE("nfqueue_backend: the input interface decides the loopback flag", "[queue][backend]") {
    rig r;  // loopback ifindex 1
    r.k->enqueue(28, 1);
    r.k->enqueue(28, 2);
    r.k->enqueue(28);
    std::array<received_packet, 8> buf;
    REQUIRE(r.receive(buf).count == 3);
    CHECK((buf[0].meta.interface_known && buf[0].meta.from_loopback_interface));
    CHECK((buf[1].meta.interface_known && !buf[1].meta.from_loopback_interface));
    CHECK_FALSE(buf[2].meta.interface_known);
    for (int i = 0; i < 3; ++i) r.q->set_verdict(buf[i].packet_id, verdict::accept);
    r.q->flush();
}

TEST_CASE("nfqueue_backend: drain after a failed send keeps each verdict apart from the drain's", "[queue][backend]") {
    rig r;
    for (int i = 0; i < 8; ++i) r.k->enqueue();
    std::array<received_packet, 8> buf;
    REQUIRE(r.receive(buf).count == 8);
    for (std::uint32_t id = 5; id <= 8; ++id) r.q->set_verdict(id, verdict::accept);  // 1..4 never verdicted
    r.k->fail_sends = 2;  // this flush, and the drain's own
    CHECK_FALSE(r.q->flush());
    r.q->drain(verdict::drop);
    for (std::uint32_t id = 1; id <= 8; ++id) {
        INFO("id " << id);
        REQUIRE(r.k->times_verdicted(id) == 1);
        CHECK(r.k->verdict_of(id)->nf_verdict == (id <= 4 ? NF_DROP : NF_ACCEPT));
    }
    CHECK(r.k->unknown_ids == 0);
}

TEST_CASE("nfqueue_backend: one receive and one send per burst, whatever the verdict mix", "[queue][backend]") {
    rig r;
    const int before_sends = r.k->send_calls, before_receives = r.k->receive_calls;
    std::array<received_packet, 8> buf;
    for (int b = 0; b < 10; ++b) {
        for (int i = 0; i < 8; ++i) r.k->enqueue();
        const auto res = r.receive(buf);
        REQUIRE(res.count == 8);
        for (std::size_t i = 0; i < res.count; ++i) {
            if (i == 3) r.q->set_repeat(buf[i].packet_id, 0x00100002);
            else r.q->set_verdict(buf[i].packet_id, i % 3 == 0 ? verdict::drop : verdict::accept);
        }
        REQUIRE(r.q->flush());
    }
    CHECK(r.k->receive_calls - before_receives == 10);
    CHECK(r.k->send_calls - before_sends == 10);
    CHECK(r.k->verdicts.size() == 80);
    CHECK(r.k->queued.empty());
    CHECK(r.k->unknown_ids == 0);
}
