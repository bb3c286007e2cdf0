// The pinhole table: offer/answer in both orders, NAT (signalling peer), RTCP, re-INVITE,
// a=inactive, BYE with its grace period, the idle timeout, offloaded flows, capacity.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "media/media_report.hpp"
#include "media/pinhole_table.hpp"
#include "sip/sdp.hpp"

using namespace pbxgate;
using namespace pbxgate::media;

namespace {

ip_address addr(const char* text) { return *parse_address(text); }

sip::sdp_view sdp(const std::string& body) {
    sip::sdp_view v;
    REQUIRE(sip::parse_sdp(body, v) == sip::sdp_status::ok);
    return v;
}

std::string audio(const char* address, unsigned port, const char* extra = "") {
    return "v=0\r\nc=IN IP4 " + std::string(address) + "\r\nm=audio " + std::to_string(port) + " RTP/AVP 0\r\n" + extra;
}

// The PBX at 192.0.2.1 (media port 10000); the phone signals from 203.0.113.10.
struct call {
    pinhole_table& t;
    std::string id;
    ip_address peer = addr("203.0.113.10");
    void remote_sdp(const std::string& body, seconds_t now) {
        const auto v = sdp(body);
        t.on_sdp(sdp_seen{id, false, peer, &v, now});
    }
    void pbx_sdp(const std::string& body, seconds_t now) {
        const auto v = sdp(body);
        t.on_sdp(sdp_seen{id, true, peer, &v, now});
    }
};

const timeouts t5_180{5, 180};

bool open(const pinhole_table& t, std::uint16_t port, const char* remote, seconds_t now) {
    return t.find(port, addr(remote), now, t5_180) != no_slot;
}

}  // namespace

TEST_CASE("pinholes: an offer and its answer open the PBX port to the remote, in either order", "[media]") {
    for (const bool offer_first : {true, false}) {
        INFO((offer_first ? "inbound call: the phone offers" : "outbound call: the PBX offers"));
        pinhole_table t(4096);
        call c{t, "call-1"};
        if (offer_first) {
            c.remote_sdp(audio("198.51.100.7", 40000), 100);
            CHECK_FALSE(open(t, 10000, "198.51.100.7", 100));  // the PBX's port is not known yet
            c.pbx_sdp(audio("192.0.2.1", 10000), 101);
        } else {
            c.pbx_sdp(audio("192.0.2.1", 10000), 100);
            CHECK(open(t, 10000, "203.0.113.10", 100));  // the signalling peer, at once
            c.remote_sdp(audio("198.51.100.7", 40000), 101);
        }
        CHECK(open(t, 10000, "198.51.100.7", 102));   // RTP from c=
        CHECK(open(t, 10001, "198.51.100.7", 102));   // RTCP: port + 1
        CHECK(open(t, 10000, "203.0.113.10", 102));   // symmetric RTP from the SIP peer (NAT)
        CHECK_FALSE(open(t, 10000, "203.0.113.99", 102));  // a third address
        CHECK_FALSE(open(t, 10002, "198.51.100.7", 102));  // another port
        CHECK_FALSE(open(t, 10000, "2001:db8::7", 102));
    }
}

TEST_CASE("pinholes: NAT, c= holds a private address", "[media]") {
    pinhole_table t(4096);
    call c{t, "nat"};
    c.remote_sdp(audio("10.0.0.5", 40000), 1);
    c.pbx_sdp(audio("192.0.2.1", 12000), 1);
    CHECK(open(t, 12000, "203.0.113.10", 2));  // the public address the SIP came from
    const auto slot = t.find(12000, addr("203.0.113.10"), 2, t5_180);
    REQUIRE(slot != no_slot);
    CHECK(t.origin_of(slot) == origin::signalling_peer);
    CHECK(t.origin_of(t.find(12000, addr("10.0.0.5"), 2, t5_180)) == origin::sdp_address);
}

TEST_CASE("pinholes: a=rtcp, IPv6 and an IPv4-mapped source", "[media]") {
    pinhole_table t(4096);
    call c{t, "v6", addr("2001:db8::10")};
    const auto v = sdp("v=0\r\nc=IN IP6 2001:db8::7\r\nm=audio 40000 RTP/AVP 0\r\n");
    t.on_sdp(sdp_seen{"v6", false, c.peer, &v, 1});
    c.pbx_sdp(audio("192.0.2.1", 14000, "a=rtcp:14100\r\n"), 1);
    CHECK(open(t, 14000, "2001:db8::7", 2));
    CHECK(open(t, 14100, "2001:db8::7", 2));
    CHECK_FALSE(open(t, 14001, "2001:db8::7", 2));
    call c4{t, "v4"};
    c4.pbx_sdp(audio("192.0.2.1", 16000), 1);
    CHECK(open(t, 16000, "::ffff:203.0.113.10", 2));
}

TEST_CASE("pinholes: BYE closes after the grace period; idle closes; offloaded stays while alive", "[media]") {
    pinhole_table t(4096);
    call c{t, "bye"};
    c.remote_sdp(audio("198.51.100.7", 40000), 100);
    c.pbx_sdp(audio("192.0.2.1", 10000), 100);
    t.on_dialog_end("bye", 200, t5_180);
    CHECK(open(t, 10000, "198.51.100.7", 204));   // late RTP within the grace period
    CHECK_FALSE(open(t, 10000, "198.51.100.7", 205));
    CHECK_FALSE(open(t, 10000, "203.0.113.10", 205));

    call idle{t, "idle"};
    idle.remote_sdp(audio("198.51.100.8", 40000), 100);
    idle.pbx_sdp(audio("192.0.2.1", 10010), 100);
    const auto slot = t.find(10010, addr("198.51.100.8"), 150, t5_180);
    REQUIRE(slot != no_slot);
    t.touch(slot, 150);
    CHECK(open(t, 10010, "198.51.100.8", 330));
    CHECK_FALSE(open(t, 10010, "198.51.100.8", 331));  // 180 s after its last packet

    // Offloaded: the engine sees no packet, the kernel's conntrack says whether it lives.
    call off{t, "offloaded"};
    off.remote_sdp(audio("198.51.100.9", 40000), 100);
    off.pbx_sdp(audio("192.0.2.1", 10020), 100);
    const auto os = t.find(10020, addr("198.51.100.9"), 100, t5_180);
    REQUIRE(os != no_slot);
    t.mark_offloaded(os);
    CHECK(open(t, 10020, "198.51.100.9", 1000));
    std::vector<closed_pinhole> revoke;
    bool kernel_has_it = true;
    const auto alive = [&](std::uint16_t port, const ip_address& remote) {
        return kernel_has_it && port == 10020 && remote == addr("198.51.100.9");
    };
    t.sweep(1000, t5_180, alive, revoke);
    CHECK(open(t, 10020, "198.51.100.9", 1000));
    CHECK(revoke.empty());
    kernel_has_it = false;
    t.sweep(1181, t5_180, alive, revoke);
    CHECK_FALSE(open(t, 10020, "198.51.100.9", 1181));
    REQUIRE(revoke.size() == 1);
    CHECK(revoke[0].port == 10020);
    CHECK(revoke[0].remote == addr("198.51.100.9"));
    // Everything above has closed and been reclaimed.
    const table_counts n = t.counts(1181, t5_180);
    CHECK(n.pinholes == 0);
    CHECK(n.closed == n.opened);
}

TEST_CASE("pinholes: a BYE's closing hands offloaded flows back for revocation", "[media]") {
    pinhole_table t(4096);
    call c{t, "bye-offloaded"};
    c.remote_sdp(audio("198.51.100.7", 40000), 100);
    c.pbx_sdp(audio("192.0.2.1", 10000), 100);
    t.mark_offloaded(t.find(10000, addr("198.51.100.7"), 100, t5_180));
    t.on_dialog_end("bye-offloaded", 110, t5_180);
    std::vector<closed_pinhole> revoke;
    t.sweep(112, t5_180, {}, revoke);
    CHECK(revoke.empty());
    t.sweep(115, t5_180, {}, revoke);
    REQUIRE(revoke.size() == 1);
    CHECK(revoke[0].port == 10000);
}

// sweep() skips the scans while nothing is stored: what is stored after such a sweep must
// still be reclaimed, and the dialogs reclaimed too (a miscounted dialog would keep its slot).
TEST_CASE("pinholes: sweeps of an empty table; what opens later is still reclaimed", "[media]") {
    pinhole_table t(4096);
    std::vector<closed_pinhole> revoke;
    CHECK(t.sweep(100, t5_180, {}, revoke) == 0);
    for (int round = 0; round < 2; ++round) {
        INFO("round " << round);
        const seconds_t at = 100 + round * 1000;
        call c{t, "late-" + std::to_string(round)};
        c.remote_sdp(audio("198.51.100.7", 40000), at);
        c.pbx_sdp(audio("192.0.2.1", 10000), at);
        CHECK(t.counts(at, t5_180).dialogs == 1);
        t.mark_offloaded(t.find(10000, addr("198.51.100.7"), at, t5_180));
        t.on_dialog_end(c.id, at + 10, t5_180);
        CHECK(t.sweep(at + 12, t5_180, {}, revoke) == 0);  // within the grace period
        CHECK(t.sweep(at + 15, t5_180, {}, revoke) > 0);
        const table_counts n = t.counts(at + 15, t5_180);
        CHECK(n.pinholes == 0);
        CHECK(n.closed == n.opened);
        CHECK(n.dialogs == 0);
        REQUIRE(revoke.size() == static_cast<std::size_t>(round + 1));
        CHECK(t.sweep(at + 16, t5_180, {}, revoke) == 0);
    }
}

TEST_CASE("pinholes: a re-INVITE moves the PBX port and the remote address; inactive and port 0 close", "[media]") {
    pinhole_table t(4096);
    call c{t, "reinvite"};
    c.remote_sdp(audio("198.51.100.7", 40000), 1);
    c.pbx_sdp(audio("192.0.2.1", 10000), 1);
    REQUIRE(open(t, 10000, "198.51.100.7", 2));
    c.pbx_sdp(audio("192.0.2.1", 10500), 3);  // the PBX moved its media
    CHECK_FALSE(open(t, 10000, "198.51.100.7", 3));
    CHECK_FALSE(open(t, 10001, "198.51.100.7", 3));
    CHECK(open(t, 10500, "198.51.100.7", 3));
    CHECK(open(t, 10501, "198.51.100.7", 3));
    c.remote_sdp(audio("198.51.100.8", 40000), 4);  // the phone moved (a new network)
    CHECK_FALSE(open(t, 10500, "198.51.100.7", 4));
    CHECK(open(t, 10500, "198.51.100.8", 4));
    CHECK(open(t, 10500, "203.0.113.10", 4));
    c.remote_sdp(audio("198.51.100.8", 40000, "a=inactive\r\n"), 5);
    CHECK_FALSE(open(t, 10500, "198.51.100.8", 5));
    CHECK_FALSE(open(t, 10500, "203.0.113.10", 5));
    c.remote_sdp(audio("198.51.100.8", 40000), 6);  // resumed
    CHECK(open(t, 10500, "198.51.100.8", 6));
    c.pbx_sdp(audio("192.0.2.1", 0), 7);  // the PBX removed the stream
    CHECK_FALSE(open(t, 10500, "198.51.100.8", 7));
}

TEST_CASE("pinholes: a final error ends a dialog unless a 2xx established it", "[media]") {
    pinhole_table t(4096);
    call c{t, "err"};
    c.remote_sdp(audio("198.51.100.7", 40000), 1);
    c.pbx_sdp(audio("192.0.2.1", 10000), 1);
    t.on_established("err");
    t.on_dialog_end("err", 10, t5_180, true);  // a refused re-INVITE: the call goes on
    CHECK(open(t, 10000, "198.51.100.7", 20));
    call c2{t, "err2"};
    c2.remote_sdp(audio("198.51.100.7", 40000), 1);
    c2.pbx_sdp(audio("192.0.2.1", 10002), 1);
    t.on_dialog_end("err2", 10, t5_180, true);  // 486 Busy to the first INVITE
    CHECK_FALSE(open(t, 10002, "198.51.100.7", 15));
}

TEST_CASE("pinholes: TLS/WSS signalling peers, T.38, the listing and the drop note", "[media]") {
    pinhole_table t(4096);
    CHECK_FALSE(t.is_signalling_peer(addr("203.0.113.20"), 1, t5_180));
    t.on_signalling_peer(addr("203.0.113.20"), 1);
    CHECK(t.is_signalling_peer(addr("203.0.113.20"), 100, t5_180));
    CHECK_FALSE(t.is_signalling_peer(addr("203.0.113.21"), 100, t5_180));
    CHECK_FALSE(t.is_signalling_peer(addr("203.0.113.20"), 182, t5_180));

    call fax{t, "fax@pbx"};
    fax.remote_sdp("v=0\r\nc=IN IP4 198.51.100.7\r\nm=image 4010 udptl t38\r\n", 1);
    fax.pbx_sdp("v=0\r\nc=IN IP4 192.0.2.1\r\nm=image 4500 udptl t38\r\n", 1);
    CHECK(open(t, 4500, "198.51.100.7", 2));
    CHECK(no_pinhole_note(t, 4500, addr("203.0.113.9"), 2, t5_180).find("from 203.0.113.9, expected ") == 0);
    CHECK(no_pinhole_note(t, 4500, addr("203.0.113.9"), 2, t5_180).find("for the call Call-ID fax@pbx") !=
          std::string::npos);
    CHECK(no_pinhole_note(t, 4600, addr("203.0.113.9"), 2, t5_180) == "no pinhole on port 4600");
    const auto listed = t.list(2, t5_180);
    CHECK(listed.size() == 5);  // 4500, 4501 x (c=, peer) + the TLS peer
    const std::string json = pinholes_json(t, 2, t5_180);
    CHECK(json.find("\"call_id\":\"fax@pbx\"") != std::string::npos);
    CHECK(json.find("\"media\":\"image\"") != std::string::npos);
}

TEST_CASE("pinholes: capacity is fixed; a full window is counted, never grown", "[media]") {
    pinhole_table t(1024);
    const std::size_t slots = t.slot_count();
    for (unsigned i = 0; i < 20000; ++i) {
        const std::string id = "c" + std::to_string(i);
        call c{t, id, ip_address::v4(0xcb007100u + (i % 200))};
        c.pbx_sdp(audio("192.0.2.1", 10000 + (i % 5000) * 2), i / 100);
    }
    const table_counts n = t.counts(200, timeouts{5, 1000});
    CHECK(t.slot_count() == slots);
    CHECK(n.full > 0);
    CHECK(n.pinholes <= slots);
}
