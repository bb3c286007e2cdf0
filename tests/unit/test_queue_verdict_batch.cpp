#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/netlink.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "queue/verdict_batch.hpp"

using namespace pbxgate;

namespace {

struct decoded {
    bool batch = false;
    std::uint32_t id = 0;
    std::uint32_t nf_verdict = 0;
    std::optional<std::uint32_t> mark;
    std::uint16_t queue = 0;
};

// Decodes the buffer independently of the batcher (no libnetfilter_queue helpers).
std::vector<decoded> decode(std::span<const std::uint8_t> buf) {
    std::vector<decoded> out;
    std::size_t off = 0;
    while (off < buf.size()) {
        REQUIRE(buf.size() - off >= NLMSG_HDRLEN + sizeof(nfgenmsg));
        nlmsghdr h;
        std::memcpy(&h, &buf[off], sizeof h);
        REQUIRE(h.nlmsg_len <= buf.size() - off);
        REQUIRE((h.nlmsg_flags & NLM_F_REQUEST) != 0);
        REQUIRE((h.nlmsg_flags & NLM_F_ACK) == 0);  // no acks: they would cost receives
        decoded d;
        REQUIRE(h.nlmsg_type >> 8 == NFNL_SUBSYS_QUEUE);
        const auto t = h.nlmsg_type & 0xff;
        REQUIRE((t == NFQNL_MSG_VERDICT || t == NFQNL_MSG_VERDICT_BATCH));
        d.batch = t == NFQNL_MSG_VERDICT_BATCH;
        nfgenmsg g;
        std::memcpy(&g, &buf[off + NLMSG_HDRLEN], sizeof g);
        d.queue = ntohs(g.res_id);
        bool have_hdr = false;
        std::size_t a = off + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nfgenmsg));
        while (a < off + h.nlmsg_len) {
            nlattr at;
            std::memcpy(&at, &buf[a], sizeof at);
            REQUIRE(at.nla_len >= 4);
            if (at.nla_type == NFQA_VERDICT_HDR) {
                REQUIRE(at.nla_len == 4 + sizeof(nfqnl_msg_verdict_hdr));
                nfqnl_msg_verdict_hdr vh;
                std::memcpy(&vh, &buf[a + 4], sizeof vh);
                d.nf_verdict = ntohl(vh.verdict);
                d.id = ntohl(vh.id);
                have_hdr = true;
            } else if (at.nla_type == NFQA_MARK) {
                std::uint32_t m;
                std::memcpy(&m, &buf[a + 4], 4);
                d.mark = ntohl(m);
            }
            a += NLA_ALIGN(at.nla_len);
        }
        REQUIRE(have_hdr);
        out.push_back(d);
        off += NLMSG_ALIGN(h.nlmsg_len);
    }
    return out;
}

struct applied {
    verdict action;
    std::optional<std::uint32_t> mark;
    int times = 0;
};

// Plays the messages against a model of the kernel queue: NFQNL_MSG_VERDICT answers one
// queued id; NFQNL_MSG_VERDICT_BATCH answers every queued id up to its id (wrap-aware).
// `queued` is in arrival (id) order; `order` gets the ids in the order they were reinjected.
std::map<std::uint32_t, applied> apply(const std::vector<decoded>& msgs, std::vector<std::uint32_t> queued,
                                       int& unknown_ids, std::vector<std::uint32_t>& order) {
    std::map<std::uint32_t, applied> got;
    unknown_ids = 0;
    for (const auto& m : msgs) {
        const verdict v = m.nf_verdict == NF_ACCEPT ? verdict::accept : verdict::drop;
        std::vector<std::uint32_t> left;
        bool hit = false;
        for (auto id : queued) {
            const bool covered = m.batch ? static_cast<std::int32_t>(id - m.id) <= 0 : id == m.id;
            if (covered) {
                auto& g = got[id];
                g.action = v;
                g.mark = m.mark;
                ++g.times;
                order.push_back(id);
                hit = true;
            } else {
                left.push_back(id);
            }
        }
        if (!hit) ++unknown_ids;
        queued = left;
    }
    return got;
}

struct entry {
    std::uint32_t id;
    char v;  // 'a' accept, 'd' drop
    std::optional<std::uint32_t> mark = std::nullopt;
};

std::string describe(const std::vector<entry>& es) {
    std::ostringstream o;
    for (const auto& e : es) o << e.id << e.v << (e.mark ? "m" + std::to_string(*e.mark) : "") << ' ';
    return o.str();
}

void check_exact(const std::vector<entry>& es, bool allow_batch, std::size_t* messages = nullptr) {
    verdict_batch b(es.size() + 1);
    for (const auto& e : es) REQUIRE(b.add(e.id, e.v == 'a' ? verdict::accept : verdict::drop, e.mark));
    const auto msgs = decode(b.build(7, allow_batch));
    CHECK(msgs.size() == b.verdict_messages() + b.batch_messages());
    for (const auto& m : msgs) CHECK(m.queue == 7);
    if (!allow_batch) CHECK(b.batch_messages() == 0);
    std::vector<std::uint32_t> ids;
    for (const auto& e : es) ids.push_back(e.id);
    const std::uint32_t ref = es.front().id - 0x80000000u;
    std::sort(ids.begin(), ids.end(), [ref](std::uint32_t x, std::uint32_t y) { return x - ref < y - ref; });
    int unknown = 0;
    std::vector<std::uint32_t> order;
    const auto got = apply(msgs, ids, unknown, order);
    CHECK(unknown == 0);  // no message answers an id that is not queued
    CHECK(order == ids);  // packets leave in the order they came
    for (const auto& e : es) {
        INFO("id " << e.id);
        auto it = got.find(e.id);
        REQUIRE(it != got.end());
        CHECK(it->second.times == 1);
        CHECK((it->second.action == verdict::accept) == (e.v == 'a'));
        CHECK(it->second.mark == e.mark);
    }
    if (messages) *messages = msgs.size();
}

// Messages an id-ordered build needs: one per maximal run of equal (verdict, mark).
std::size_t runs(std::vector<entry> es) {
    const std::uint32_t ref = es.front().id - 0x80000000u;
    std::sort(es.begin(), es.end(), [ref](const entry& a, const entry& b) { return a.id - ref < b.id - ref; });
    std::size_t n = 0;
    for (std::size_t i = 0; i < es.size(); ++i)
        if (i == 0 || es[i - 1].v != es[i].v || es[i - 1].mark != es[i].mark) ++n;
    return n;
}

}  // namespace

TEST_CASE("verdict_batch: every id gets exactly its verdict and mark, in id order, one message per run",
          "[queue][verdict]") {
    struct row {
        const char* name;
        std::vector<entry> entries;
        std::size_t messages;  // runs of equal (verdict, mark) in id order
    };
    const row rows[] = {
        {"one packet", {{5, 'a'}}, 1},
        {"all accept", {{1, 'a'}, {2, 'a'}, {3, 'a'}, {4, 'a'}, {5, 'a'}}, 1},
        {"all drop", {{1, 'd'}, {2, 'd'}, {3, 'd'}}, 1},
        {"accepts with two drops", {{1, 'a'}, {2, 'd'}, {3, 'a'}, {4, 'a'}, {5, 'd'}, {6, 'a'}}, 5},
        {"drops then accepts", {{1, 'd'}, {2, 'd'}, {3, 'd'}, {4, 'a'}, {5, 'a'}, {6, 'a'}}, 2},
        {"accepts then drops", {{1, 'a'}, {2, 'a'}, {3, 'd'}, {4, 'd'}}, 2},
        {"ids out of order", {{9, 'a'}, {3, 'd'}, {7, 'a'}, {4, 'd'}, {8, 'a'}, {5, 'd'}}, 2},
        {"gaps in ids", {{10, 'a'}, {20, 'a'}, {30, 'd'}}, 2},
        {"marks split runs", {{1, 'a', 1}, {2, 'a', 1}, {3, 'a', 2}, {4, 'a'}}, 3},
        {"same mark, one run", {{1, 'a', 9}, {2, 'a', 9}, {3, 'a', 9}}, 1},
        {"alternating", {{1, 'a'}, {2, 'd'}, {3, 'a'}, {4, 'd'}, {5, 'a'}, {6, 'd'}}, 6},
        {"ids wrap around 2^32",
         {{0xfffffffeu, 'd'}, {0xffffffffu, 'd'}, {0u, 'a'}, {1u, 'a'}, {2u, 'a'}}, 2},
        {"ids wrap, out of order", {{1u, 'a'}, {0xffffffffu, 'd'}, {0u, 'a'}}, 2},
    };
    for (const auto& r : rows) {
        INFO(r.name << ": " << describe(r.entries));
        std::size_t n = 0;
        check_exact(r.entries, true, &n);
        CHECK(n == r.messages);
        std::size_t alone = 0;
        check_exact(r.entries, false, &alone);
        CHECK(alone == r.entries.size());
    }
}

TEST_CASE("verdict_batch: random bursts are exact, in id order, one message per run", "[queue][verdict]") {
    std::mt19937 rng(20261124);
    auto below = [&rng](std::uint32_t m) { return static_cast<std::uint32_t>(rng() % m); };
    for (int round = 0; round < 400; ++round) {
        const std::size_t n = 1 + below(10);
        const std::uint32_t base = (round % 3 == 0) ? 0xfffffffau : below(1000);
        std::vector<entry> es;
        std::uint32_t id = base;
        for (std::size_t i = 0; i < n; ++i) {
            entry e{id, below(3) == 0 ? 'd' : 'a'};
            id += 1 + below(2);
            if (below(4) == 0) e.mark = below(2);
            es.push_back(e);
        }
        std::shuffle(es.begin(), es.end(), rng);
        INFO("round " << round << ": " << describe(es));
        std::size_t got = 0;
        check_exact(es, true, &got);
        CHECK(got == runs(es));
    }
}

TEST_CASE("verdict_batch: many distinct marks stay exact", "[queue][verdict]") {
    std::vector<entry> es;
    for (std::uint32_t i = 0; i < 48; ++i) es.push_back({100 + i, 'a', i / 2});
    INFO(describe(es));
    std::size_t n = 0;
    check_exact(es, true, &n);
    CHECK(n == 24);
}

TEST_CASE("verdict_batch: entries stay after build, so a failed send can be built again", "[queue][verdict]") {
    verdict_batch b(8);
    REQUIRE(b.add(3, verdict::drop));
    REQUIRE(b.add(1, verdict::accept));
    const auto first = decode(b.build(0, true));
    REQUIRE(b.add(2, verdict::accept));
    const auto second = decode(b.build(0, true));
    REQUIRE(first.size() == 2);
    REQUIRE(second.size() == 2);
    CHECK(second[0].batch);
    CHECK(second[0].id == 2);
    CHECK(second[1].id == 3);
    CHECK(second[1].nf_verdict == NF_DROP);
}

TEST_CASE("verdict_batch: capacity, clear and an empty build", "[queue][verdict]") {
    verdict_batch b(2);
    CHECK(b.build(0, true).empty());
    CHECK(b.add(1, verdict::accept));
    CHECK(b.add(2, verdict::accept));
    CHECK(b.full());
    CHECK_FALSE(b.add(3, verdict::accept));
    CHECK(decode(b.build(0, true)).size() == 1);
    b.clear();
    CHECK(b.empty());
    CHECK(b.build(0, true).empty());
}
