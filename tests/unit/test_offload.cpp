// Flow offload: mark math, policy keys, the offload decision, the worker's
// NF_REPEAT verdicts and the NF_REPEAT verdict bytes.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/netlink.h>

#include <cstring>
#include <string>
#include <vector>

#include "datapath/worker.hpp"
#include "fake_queue_backend.hpp"
#include "offload/offload_decider.hpp"
#include "offload/offload_marks.hpp"
#include "packet_builder.hpp"
#include "pbxgate/compiled_policy.hpp"
#include "queue/verdict_batch.hpp"
#include "test_policy_support.hpp"

using namespace pbxgate;
using pbxgate::test::packet_builder;

namespace {

const std::string services =
    "[zones]\nlan = [\"192.0.2.0/24\"]\nblocked = [\"203.0.113.200/32\"]\n"
    "[services.sip]\nproto = \"udp\"\nports = [5060]\nallow = [\"lan\", \"internet\"]\n"
    "[services.rtp]\nproto = \"udp\"\nports = [\"10000-20000\"]\nallow = [\"lan\"]\noffload = true\n";

policy load(const std::string& engine_table) {
    const auto r = test::load_from({{"p.toml", services + engine_table}}, "p.toml");
    INFO(test::error_lines(r));
    REQUIRE(r.ok());
    return *r.value;
}

}  // namespace

TEST_CASE("offload marks: two values inside the mask, other bits kept", "[offload]") {
    struct row {
        std::uint32_t mask;
        bool valid;
        std::uint32_t accept, drop;
    };
    const row rows[] = {
        {0x00f00000, true, 0x00100000, 0x00200000},
        {0x00000003, true, 0x1, 0x2},
        {0x80000001, true, 0x1, 0x80000000},
        {0x00000101, true, 0x1, 0x100},
        {0x00100000, false, 0, 0},
        {0, false, 0, 0},
    };
    for (const auto& r : rows) {
        INFO("mask " << std::hex << r.mask);
        const auto m = offload_marks::from_mask(r.mask);
        REQUIRE(m.has_value() == r.valid);
        if (!m) continue;
        CHECK(m->accept_value == r.accept);
        CHECK(m->drop_value == r.drop);
        for (const std::uint32_t old : {0u, 0xffffffffu, 0x12345678u, r.drop}) {
            INFO("old mark " << old);
            const std::uint32_t a = m->apply(old, m->accept_value);
            CHECK((a & ~r.mask) == (old & ~r.mask));  // the admin's bits survive
            CHECK((a & r.mask) == r.accept);
            CHECK(m->is_ours(a));
            CHECK(m->cleared(a) == (old & ~r.mask));
            CHECK_FALSE(m->is_ours(m->cleared(a)));
        }
    }
}

TEST_CASE("offload policy keys: defaults, values, and errors with positions", "[offload][policy]") {
    const policy defaults = load("");
    CHECK(defaults.engine.offload_after == 1);
    CHECK_FALSE(defaults.engine.offload_drops);
    CHECK(defaults.engine.mark_mask == 0x00f00000);
    CHECK(test::find_service(defaults, "rtp")->offload);
    CHECK_FALSE(test::find_service(defaults, "sip")->offload);

    const policy set = load("[engine]\noffload_after = 3\noffload_drops = true\nmark_mask = \"0x0000F000\"\n");
    CHECK(set.engine.offload_after == 3);
    CHECK(set.engine.offload_drops);
    CHECK(set.engine.mark_mask == 0xf000);
    CHECK(load("[engine]\nmark_mask = 12\n").engine.mark_mask == 12);

    struct row {
        const char* engine;
        const char* message;
    };
    const row rows[] = {
        {"[engine]\nmark_mask = \"0x00100000\"\n", "needs at least two bits"},
        {"[engine]\nmark_mask = 0\n", "needs at least two bits"},
        {"[engine]\nmark_mask = \"0xfffffffff\"\n", "must be a 32-bit mask"},
        {"[engine]\nmark_mask = \"zz\"\n", "must be a 32-bit mask"},
        {"[engine]\nmark_mask = -3\n", "must be a 32-bit mask"},
        {"[engine]\noffload_after = 0\n", "engine.offload_after is 0"},
        {"[engine]\noffload_drops = \"yes\"\n", "engine.offload_drops"},
    };
    for (const auto& r : rows) {
        INFO(r.engine);
        const auto result = test::load_from({{"p.toml", services + r.engine}}, "p.toml");
        REQUIRE_FALSE(result.ok());
        const std::string errors = test::error_lines(result);
        INFO(errors);
        CHECK(errors.find(r.message) != std::string::npos);
        CHECK(errors.find("p.toml:") == 0);
    }
}

TEST_CASE("offload decision: which verdicts offload a flow", "[offload]") {
    const packet_meta plain{};
    const auto marks = *offload_marks::from_mask(0x00f00000);
    struct row {
        const char* what;
        std::vector<std::uint8_t> bytes;
        std::string engine;
        bool monitor;
        std::uint32_t mark;
        offload_action expected;
    };
    const auto rtp_lan = packet_builder::ipv4("192.0.2.10", "192.0.2.1").udp(30000, 12000).payload(172).build();
    const auto rtp_inet = packet_builder::ipv4("198.51.100.10", "192.0.2.1").udp(30000, 12000).payload(172).build();
    const auto sip_lan = packet_builder::ipv4("192.0.2.10", "192.0.2.1").udp(5060, 5060).build();
    const auto closed = packet_builder::ipv4("198.51.100.10", "192.0.2.1").udp(4000, 9999).build();
    const auto blocked = packet_builder::ipv4("203.0.113.200", "192.0.2.1").udp(5060, 5060).build();
    const auto ping = packet_builder::ipv4("192.0.2.10", "192.0.2.1").icmp(8, 0).build();
    const row rows[] = {
        {"rtp accepted, offload service", rtp_lan, "", false, 0, offload_action::accept},
        {"rtp accepted, admin mark bits outside the mask", rtp_lan, "", false, 0x5, offload_action::accept},
        {"rtp back after a repeat (rules missing): no loop", rtp_lan, "", false, marks.accept_value,
         offload_action::none},
        {"rtp accepted in monitor mode", rtp_lan, "", true, 0, offload_action::accept},
        {"sip accepted, service without offload", sip_lan, "", false, 0, offload_action::none},
        {"rtp from a zone not allowed, drops not offloaded", rtp_inet, "", false, 0, offload_action::none},
        {"rtp from a zone not allowed, drop offload on", rtp_inet, "[engine]\noffload_drops = true\n", false, 0,
         offload_action::drop},
        {"closed port, drop offload on", closed, "[engine]\noffload_drops = true\n", false, 0, offload_action::drop},
        {"blocked source, drop offload on", blocked, "[engine]\noffload_drops = true\n", false, 0,
         offload_action::drop},
        {"closed port, drop offload on, monitor mode", closed, "[engine]\noffload_drops = true\n", true, 0,
         offload_action::none},
        {"icmp is never offloaded", ping, "[engine]\noffload_drops = true\n", false, 0, offload_action::none},
        {"custom mask: our value is now another bit", rtp_lan, "[engine]\nmark_mask = \"0x3\"\n", false,
         marks.accept_value, offload_action::accept},
    };
    for (const auto& r : rows) {
        INFO(r.what);
        const auto compiled = compiled_policy::compile(load(r.engine));
        packet_view view;
        parse_ip_packet(r.bytes.data(), static_cast<std::uint32_t>(r.bytes.size()),
                        static_cast<std::uint32_t>(r.bytes.size()), view);
        packet_meta meta = plain;
        meta.mark = r.mark;
        const decision d = compiled->classify(view, meta);
        offload_decider decider;
        CHECK(decider.decide(*compiled, view, meta, d, r.monitor) == r.expected);
    }
}

TEST_CASE("offload_after N: the Nth accepted packet of a flow offloads it", "[offload]") {
    for (const std::uint32_t n : {1u, 2u, 5u}) {
        INFO("offload_after " << n);
        const auto compiled = compiled_policy::compile(load("[engine]\noffload_after = " + std::to_string(n) + "\n"));
        const auto a = packet_builder::ipv4("192.0.2.10", "192.0.2.1").udp(30000, 12000).build();
        const auto b = packet_builder::ipv4("192.0.2.11", "192.0.2.1").udp(30000, 12000).build();
        offload_decider decider;
        const auto judge = [&](const std::vector<std::uint8_t>& bytes) {
            packet_view view;
            parse_ip_packet(bytes.data(), static_cast<std::uint32_t>(bytes.size()),
                            static_cast<std::uint32_t>(bytes.size()), view);
            return decider.decide(*compiled, view, {}, compiled->classify(view, {}), false);
        };
        // Two flows interleaved: each is counted on its own.
        for (std::uint32_t i = 1; i <= n; ++i) {
            INFO("packet " << i);
            const auto expected = i == n ? offload_action::accept : offload_action::none;
            CHECK(judge(a) == expected);
            CHECK(judge(b) == expected);
        }
    }
}

TEST_CASE("worker: an offload flow's packet gets NF_REPEAT with the mark, others plain verdicts", "[offload][engine]") {
    policy_slot slot(compiled_policy::compile(load("")));
    fake_queue_backend backend;
    worker w(backend, slot, {});
    packet_meta admin{};
    admin.mark = 0x00000007;
    const auto rtp = backend.push(packet_builder::ipv4("192.0.2.10", "192.0.2.1").udp(30000, 12000).build(), admin);
    const auto sip = backend.push(packet_builder::ipv4("192.0.2.10", "192.0.2.1").udp(5060, 5060).build());
    std::array<received_packet, worker::max_burst> burst{};
    const auto r = backend.receive_burst(burst, std::chrono::milliseconds(0));
    REQUIRE(r.count == 2);
    w.judge_burst(std::span(burst.data(), r.count), *slot.current());
    const auto& sent = backend.verdicts();
    REQUIRE(sent.size() == 2);
    CHECK(sent[0].id == rtp);
    CHECK(sent[0].repeat);
    CHECK(sent[0].mark == std::optional<std::uint32_t>(0x00100007));
    CHECK(sent[1].id == sip);
    CHECK_FALSE(sent[1].repeat);
    CHECK(sent[1].action == verdict::accept);
    CHECK(w.counters().offloaded_accepts.load() == 1);
    CHECK(w.counters().offloaded_drops.load() == 0);
    CHECK(w.counters().accepted.load() == 2);  // judged and accepted, whatever the verdict's form
}

TEST_CASE("verdict_batch: a repeat is its own NFQNL_MSG_VERDICT with NF_REPEAT and the mark", "[offload][queue]") {
    // ids 1..6, accepts around a repeat at 4: the accepts may batch, the repeat never.
    struct seen_msg {
        bool batch;
        std::uint32_t id, verdict;
        std::optional<std::uint32_t> mark;
    };
    verdict_batch b(16);
    for (std::uint32_t id = 1; id <= 6; ++id) {
        if (id == 4)
            b.add_repeat(id, 0x00100002);
        else
            b.add(id, verdict::accept);
    }
    const auto bytes = b.build(7, true);
    std::vector<seen_msg> msgs;
    std::size_t off = 0;
    while (off < bytes.size()) {
        REQUIRE(bytes.size() - off >= NLMSG_HDRLEN + sizeof(nfgenmsg));
        nlmsghdr h;
        std::memcpy(&h, &bytes[off], sizeof h);
        REQUIRE(h.nlmsg_len >= NLMSG_HDRLEN);
        REQUIRE(h.nlmsg_len <= bytes.size() - off);
        seen_msg m{(h.nlmsg_type & 0xff) == NFQNL_MSG_VERDICT_BATCH, 0, 0, std::nullopt};
        for (std::size_t a = off + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nfgenmsg)); a + 4 <= off + h.nlmsg_len;) {
            nlattr at;
            std::memcpy(&at, &bytes[a], sizeof at);
            REQUIRE(at.nla_len >= 4);
            if (at.nla_type == NFQA_VERDICT_HDR) {
                nfqnl_msg_verdict_hdr vh;
                std::memcpy(&vh, &bytes[a + 4], sizeof vh);
                m.verdict = ntohl(vh.verdict);
                m.id = ntohl(vh.id);
            } else if (at.nla_type == NFQA_MARK) {
                std::uint32_t v;
                std::memcpy(&v, &bytes[a + 4], 4);
                m.mark = ntohl(v);
            }
            a += NLA_ALIGN(at.nla_len);
        }
        msgs.push_back(m);
        off += NLMSG_ALIGN(h.nlmsg_len);
    }
    std::size_t repeats = 0;
    for (const auto& m : msgs) {
        INFO("id " << m.id << (m.batch ? " batch" : ""));
        if (m.verdict == NF_REPEAT) {
            ++repeats;
            CHECK_FALSE(m.batch);
            CHECK(m.id == 4);
            CHECK(m.mark == std::optional<std::uint32_t>(0x00100002));
        } else {
            CHECK(m.verdict == NF_ACCEPT);
            CHECK_FALSE(m.mark.has_value());
        }
    }
    CHECK(repeats == 1);
    // The repeat goes before every batch message: a batch covering id 4 would find it gone.
    REQUIRE_FALSE(msgs.empty());
    CHECK(msgs.front().verdict == NF_REPEAT);
    CHECK(b.verdict_messages() + b.batch_messages() == msgs.size());
}
