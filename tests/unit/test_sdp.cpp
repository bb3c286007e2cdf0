// The SDP parser: offers and answers as phones, trunks and WebRTC write them.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "sip/sdp.hpp"
#include "sip/sip_message.hpp"

using namespace pbxgate;
using namespace pbxgate::sip;

namespace {

struct want_stream {
    media_kind kind;
    unsigned port;
    std::string address;  // "" : none
    unsigned rtcp;        // effective RTCP port
    media_direction dir;
    bool active;
};

struct sdp_case {
    const char* name;
    std::string body;
    sdp_status status;
    std::vector<want_stream> streams;
    bool bundle = false;
};

std::string lines(std::initializer_list<const char*> l) {
    std::string s;
    for (const char* x : l) s += std::string(x) + "\r\n";
    return s;
}

}  // namespace

TEST_CASE("sdp: streams, addresses, RTCP ports and directions", "[sdp]") {
    using md = media_direction;
    const std::vector<sdp_case> cases = {
        {"offer, session-level c=",
         lines({"v=0", "o=- 1 1 IN IP4 203.0.113.10", "s=-", "c=IN IP4 203.0.113.10", "t=0 0",
                "m=audio 40000 RTP/AVP 0 8", "a=sendrecv"}),
         sdp_status::ok,
         {{media_kind::audio, 40000, "203.0.113.10", 40001, md::sendrecv, true}}},
        {"media-level c= wins over session level",
         lines({"v=0", "c=IN IP4 203.0.113.10", "m=audio 40000 RTP/AVP 0", "c=IN IP4 198.51.100.7"}),
         sdp_status::ok,
         {{media_kind::audio, 40000, "198.51.100.7", 40001, md::sendrecv, true}}},
        {"IPv6 c=",
         lines({"v=0", "c=IN IP6 2001:db8::7", "m=audio 30000 RTP/AVP 0"}),
         sdp_status::ok,
         {{media_kind::audio, 30000, "2001:db8::7", 30001, md::sendrecv, true}}},
        {"a=rtcp: names the RTCP port",
         lines({"v=0", "c=IN IP4 203.0.113.10", "m=audio 40000 RTP/AVP 0", "a=rtcp:40100 IN IP4 203.0.113.10"}),
         sdp_status::ok,
         {{media_kind::audio, 40000, "203.0.113.10", 40100, md::sendrecv, true}}},
        {"a=rtcp-mux: RTCP on the RTP port",
         lines({"v=0", "c=IN IP4 203.0.113.10", "m=audio 40000 RTP/AVP 0", "a=rtcp-mux"}),
         sdp_status::ok,
         {{media_kind::audio, 40000, "203.0.113.10", 40000, md::sendrecv, true}}},
        {"a=inactive at media level",
         lines({"v=0", "c=IN IP4 203.0.113.10", "m=audio 40000 RTP/AVP 0", "a=inactive"}),
         sdp_status::ok,
         {{media_kind::audio, 40000, "203.0.113.10", 40001, md::inactive, false}}},
        {"session-level sendonly applies to streams without their own",
         lines({"v=0", "c=IN IP4 203.0.113.10", "a=sendonly", "m=audio 40000 RTP/AVP 0", "m=video 40002 RTP/AVP 96",
                "a=recvonly"}),
         sdp_status::ok,
         {{media_kind::audio, 40000, "203.0.113.10", 40001, md::sendonly, true},
          {media_kind::video, 40002, "203.0.113.10", 40003, md::recvonly, true}}},
        {"port 0 disables a stream; T.38 image stream",
         lines({"v=0", "c=IN IP4 203.0.113.10", "m=audio 0 RTP/AVP 0", "m=image 4010 udptl t38"}),
         sdp_status::ok,
         {{media_kind::audio, 0, "203.0.113.10", 1, md::sendrecv, false},
          {media_kind::image, 4010, "203.0.113.10", 4011, md::sendrecv, true}}},
        {"bundle: a=group:BUNDLE, a bundle-only stream with port 0",
         lines({"v=0", "a=group:BUNDLE 0 1", "c=IN IP4 203.0.113.10", "m=audio 9 UDP/TLS/RTP/SAVPF 111", "a=mid:0",
                "a=rtcp-mux", "m=video 0 UDP/TLS/RTP/SAVPF 96", "a=bundle-only", "a=mid:1"}),
         sdp_status::ok,
         {{media_kind::audio, 9, "203.0.113.10", 9, md::sendrecv, true},
          {media_kind::video, 0, "203.0.113.10", 1, md::sendrecv, false}},
         true},
        {"hold with c=0.0.0.0 keeps the stream, the address is unspecified",
         lines({"v=0", "c=IN IP4 0.0.0.0", "m=audio 40000 RTP/AVP 0"}),
         sdp_status::ok,
         {{media_kind::audio, 40000, "0.0.0.0", 40001, md::sendrecv, true}}},
        {"multicast TTL suffix, LF line ends",
         "v=0\nc=IN IP4 233.252.0.1/127\nm=audio 40000 RTP/AVP 0\n",
         sdp_status::ok,
         {{media_kind::audio, 40000, "233.252.0.1", 40001, md::sendrecv, true}}},
        {"bad lines are skipped, not fatal",
         lines({"v=0", "garbage", "c=IN IP4 not-an-address", "m=audio 99999 RTP/AVP 0", "m=audio 40000 RTP/AVP 0",
                "a=rtcp:0"}),
         sdp_status::ok,
         {{media_kind::audio, 40000, "", 40001, md::sendrecv, true}}},
        {"no address at all", lines({"v=0", "m=audio 40000 RTP/AVP 0"}), sdp_status::ok,
         {{media_kind::audio, 40000, "", 40001, md::sendrecv, true}}},
        {"not SDP", "hello\r\n", sdp_status::not_sdp, {}},
        {"empty", "\r\n", sdp_status::empty, {}},
    };
    for (const sdp_case& c : cases) {
        INFO(c.name);
        sdp_view v;
        REQUIRE(parse_sdp(c.body, v) == c.status);
        REQUIRE(v.stream_count == c.streams.size());
        CHECK(v.bundle == c.bundle);
        for (std::size_t i = 0; i < c.streams.size(); ++i) {
            INFO("stream " << i);
            const sdp_stream& s = v.streams[i];
            const want_stream& w = c.streams[i];
            CHECK(s.kind == w.kind);
            CHECK(s.port == w.port);
            CHECK(s.has_address == !w.address.empty());
            if (!w.address.empty()) CHECK(to_string(s.address) == w.address);
            CHECK(s.effective_rtcp_port() == w.rtcp);
            CHECK(s.direction == w.dir);
            CHECK(s.active() == w.active);
        }
    }
}

TEST_CASE("sdp: more m= lines than kept are counted, not overflowed", "[sdp]") {
    std::string body = "v=0\r\nc=IN IP4 203.0.113.10\r\n";
    for (int i = 0; i < 12; ++i) body += "m=audio " + std::to_string(40000 + 2 * i) + " RTP/AVP 0\r\n";
    sdp_view v;
    REQUIRE(parse_sdp(body, v) == sdp_status::ok);
    CHECK(v.stream_count == max_sdp_streams);
    CHECK(v.too_many_streams);
}

TEST_CASE("sdp: Content-Type recognised", "[sdp]") {
    CHECK(is_sdp_content_type("application/sdp"));
    CHECK(is_sdp_content_type("Application/SDP; charset=utf-8"));
    CHECK_FALSE(is_sdp_content_type("application/sdpx"));
    CHECK_FALSE(is_sdp_content_type("multipart/mixed;boundary=x"));
}

TEST_CASE("sip message: content type and body bounded by Content-Length and the datagram", "[sip][sdp]") {
    const std::string head = "INVITE sip:200@192.0.2.1 SIP/2.0\r\nCall-ID: x\r\nc: application/sdp\r\n";
    struct body_case {
        const char* name;
        std::string text;
        std::string body;
    };
    const std::vector<body_case> cases = {
        {"Content-Length bounds the body", head + "Content-Length: 4\r\n\r\nv=0\r\nEXTRA", "v=0\r"},
        {"cut datagram keeps what it has", head + "Content-Length: 400\r\n\r\nv=0\r\n", "v=0\r\n"},
        {"no Content-Length: to the end", head + "\r\nv=0\r\n", "v=0\r\n"},
        {"Content-Length 0", head + "l: 0\r\n\r\nv=0", ""},
        {"LF-only empty line", "SIP/2.0 200 OK\nContent-Type: application/sdp\n\nv=0\n", "v=0\n"},
        {"headers never end", head + "Content-Length: 4\r\n", ""},
    };
    for (const body_case& c : cases) {
        INFO(c.name);
        message_view m;
        REQUIRE(parse_message(c.text, m) == parse_status::ok);
        CHECK(m.body == c.body);
        CHECK(m.content_type == "application/sdp");
    }
}
