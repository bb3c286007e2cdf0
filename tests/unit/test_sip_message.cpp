#include <catch2/catch.hpp>

#include <cctype>
#include <functional>
#include <string>
#include <vector>

#include "sip/sip_message.hpp"
#include "sip_samples.hpp"

using namespace pbxgate;
using namespace pbxgate::sip;

TEST_CASE("sip: a REGISTER with credentials is read whole") {
    message_view m;
    REQUIRE(parse_message(test::sip_register_with_auth, m) == parse_status::ok);
    CHECK(m.is_request);
    CHECK(m.request_method == method::register_);
    CHECK(m.request_uri == "sip:pbx.example.com");
    CHECK(m.via_branch == "z9hG4bK-524287-1---77f2e9c1b8a0");
    CHECK(m.from.display == "Desk 201");
    CHECK(m.from.user == "201");
    CHECK(m.from.tag == "4f2a9b1c");
    CHECK(m.to().user == "201");
    CHECK(m.to().tag.empty());
    CHECK(m.call_id == "83d1c1ab7e0f4b2aa0e4e8a6b1f6c7d2@192.0.2.10");
    CHECK(m.cseq == 2);
    CHECK(m.cseq_method == method::register_);
    CHECK(m.user_agent == "Yealink SIP-T46S 66.86.0.15");
    CHECK(m.contact_expires() == 3600);
    CHECK(m.expires == 3600);
    CHECK(m.has_authorization);
    CHECK_FALSE(m.has_proxy_authorization);
    CHECK(m.content_length == 0);
    CHECK(m.headers_complete);
}

TEST_CASE("sip: status lines") {
    struct row { std::string text; parse_status st; std::uint16_t status; method cseq_method; };
    const std::vector<row> rows{
        {"SIP/2.0 401 Unauthorized\r\nCSeq: 1 REGISTER\r\n\r\n", parse_status::ok, 401, method::register_},
        {"SIP/2.0 200 OK\r\nCSeq: 7 INVITE\r\n\r\n", parse_status::ok, 200, method::invite},
        {"SIP/2.0 407\r\nCSeq: 3 INVITE\r\n\r\n", parse_status::ok, 407, method::invite},
        {"SIP/2.0 099 Too low\r\n\r\n", parse_status::not_sip, 0, method::unknown},
        {"SIP/2.0 700 Too high\r\n\r\n", parse_status::not_sip, 0, method::unknown},
        {"SIP/2.0 20 short\r\n\r\n", parse_status::not_sip, 0, method::unknown},
        {"SIP/2.0 2000 OK\r\n\r\n", parse_status::not_sip, 0, method::unknown},
        {"HTTP/1.1 200 OK\r\n\r\n", parse_status::not_sip, 0, method::unknown},
    };
    for (const row& r : rows) {
        INFO(r.text);
        message_view m;
        CHECK(parse_message(r.text, m) == r.st);
        if (r.st == parse_status::ok) {
            CHECK_FALSE(m.is_request);
            CHECK(m.status == r.status);
            CHECK(m.cseq_method == r.cseq_method);
        }
    }
}

TEST_CASE("sip: request lines and what is not SIP") {
    struct row { std::string text; parse_status st; method m; };
    const std::vector<row> rows{
        {"OPTIONS sip:100@192.0.2.1 SIP/2.0\r\n\r\n", parse_status::ok, method::options},
        {"INVITE sips:100@192.0.2.1 SIP/2.0\r\n\r\n", parse_status::ok, method::invite},
        {"FOO sip:x SIP/2.0\r\n\r\n", parse_status::ok, method::unknown},
        {"REGIStER sip:x SIP/2.0\r\n\r\n", parse_status::ok, method::unknown},  // methods are case-sensitive
        {"INVITE sip:x\r\n\r\n", parse_status::not_sip, method::unknown},
        {"INVITE  SIP/2.0\r\n\r\n", parse_status::not_sip, method::unknown},
        {"GET / HTTP/1.1\r\n\r\n", parse_status::not_sip, method::unknown},
        {"\x80\x01\x02garbage", parse_status::not_sip, method::unknown},
        {"\r\n\r\n", parse_status::keepalive, method::unknown},
        {"\r\n", parse_status::keepalive, method::unknown},
        {"", parse_status::empty, method::unknown},
        {"OPTIONS sip:x SIP/2.0\r\nno colon here\r\n\r\n", parse_status::bad_header, method::options},
        {"OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9", parse_status::ok, method::options},  // cut
    };
    for (const row& r : rows) {
        INFO(r.text);
        message_view m;
        CHECK(parse_message(r.text, m) == r.st);
        if (r.st == parse_status::ok) {
            CHECK(m.is_request);
            CHECK(m.request_method == r.m);
        }
    }
}

TEST_CASE("sip: compact header forms and case-insensitive names") {
    const std::string text =
        "INVITE sip:100@192.0.2.1 SIP/2.0\r\n"
        "v: SIP/2.0/UDP 198.51.100.7:5060;rport;BRANCH=z9hG4bK.abc, SIP/2.0/UDP 10.0.0.1;branch=second\r\n"
        "f: sipvicious <sip:100@1.1.1.1>;tag=3132\r\n"
        "t: <sip:100@1.1.1.1>\r\n"
        "i: callid-1\r\n"
        "cseq:   1 INVITE\r\n"
        "m: sip:100@198.51.100.7:5060\r\n"
        "l: 12\r\n"
        "USER-AGENT: friendly-scanner\r\n"
        "proxy-authorization: Digest x\r\n"
        "\r\n"
        "body";
    message_view m;
    REQUIRE(parse_message(text, m) == parse_status::ok);
    CHECK(m.via_branch == "z9hG4bK.abc");
    CHECK(m.from.display == "sipvicious");
    CHECK(m.from.user == "100");
    CHECK(m.from.tag == "3132");
    CHECK(m.to().uri == "sip:100@1.1.1.1");
    CHECK(m.call_id == "callid-1");
    CHECK(m.cseq == 1);
    CHECK(m.cseq_method == method::invite);
    CHECK(m.contact == "sip:100@198.51.100.7:5060");
    CHECK(m.content_length == 12);
    CHECK(m.user_agent == "friendly-scanner");
    CHECK(m.has_proxy_authorization);
    CHECK_FALSE(m.has_authorization);
    CHECK(m.has_credentials());
}

TEST_CASE("sip: header names match in any case and nothing else") {
    // Names are compared a word at a time: every letter in either case, '-' only as itself,
    // the length exactly; names near the end of a datagram (fewer than 8 bytes left) too.
    struct row { std::string line; bool is_user_agent; };
    const std::vector<row> rows{
        {"User-Agent: x", true},
        {"uSeR-aGeNt: x", true},
        {"USER-AGENT : x", true},      // blanks before the colon
        {"User_Agent: x", false},      // '_' is not '-'
        {"User\rAgent: x", false},     // nor is CR ('-' | 0x20 would be)
        {"User-Agents: x", false},
        {"Ser-Agent: x", false},
        {"User-Agenu: x", false},      // last letter differs
        {"Uzer-Agent: x", false},
        {"User-@gent: x", false},      // '@' | 0x20 is '`', not a letter of the name
    };
    for (const row& r : rows) {
        INFO(r.line);
        const std::string text = "OPTIONS sip:x SIP/2.0\r\n" + r.line + "\r\n\r\n";
        message_view m;
        REQUIRE(parse_message(text, m) == parse_status::ok);
        CHECK((m.user_agent == "x") == r.is_user_agent);
    }
    struct short_row { std::string text; std::string_view call_id, to; };
    const std::vector<short_row> cut{
        {"OPTIONS sip:x SIP/2.0\r\ni:a", "a", ""},  // a datagram ending inside the header
        {"OPTIONS sip:x SIP/2.0\r\nTo:b", "", "b"},
        {"OPTIONS sip:x SIP/2.0\r\nCALL-ID:c", "c", ""},
        {"OPTIONS sip:x SIP/2.0\r\nCall-Iq:c", "", ""},
    };
    for (const short_row& r : cut) {
        INFO(r.text);
        message_view m;
        REQUIRE(parse_message(r.text, m) == parse_status::ok);
        CHECK(m.call_id == r.call_id);
        CHECK(m.to_header == r.to);
    }
    // Every name the reader keeps, each of the 2^letters case mixes of the short ones.
    struct name_row { std::string name; std::function<bool(const message_view&)> seen; };
    const std::vector<name_row> names{
        {"via", [](const message_view& m) { return m.via_branch == "1"; }},
        {"from", [](const message_view& m) { return m.from.user == "u"; }},
        {"to", [](const message_view& m) { return m.to_header == "<sip:u@h>;branch=1"; }},
        {"cseq", [](const message_view& m) { return m.cseq == 7; }},
        {"server", [](const message_view& m) { return !m.server.empty(); }},
        {"expires", [](const message_view& m) { return m.expires == 7; }},
        {"contact", [](const message_view& m) { return !m.contact.empty(); }},
        {"call-id", [](const message_view& m) { return !m.call_id.empty(); }},
    };
    for (const name_row& n : names) {
        for (unsigned mix = 0; mix < (1u << n.name.size()); ++mix) {
            std::string name = n.name;
            for (std::size_t i = 0; i < name.size(); ++i)
                if ((mix >> i) & 1u) name[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(name[i])));
            const std::string value = n.name == "via" ? "SIP/2.0/UDP h;branch=1" : n.name == "cseq" || n.name == "expires"
                                                                                    ? "7 REGISTER"
                                                                                    : "<sip:u@h>;branch=1";
            const std::string text = "OPTIONS sip:x SIP/2.0\r\n" + name + ": " + value + "\r\n\r\n";
            INFO(text);
            message_view m;
            REQUIRE(parse_message(text, m) == parse_status::ok);
            CHECK(n.seen(m));
        }
    }
}

TEST_CASE("sip: method tokens are exact and case-sensitive") {
    for (unsigned i = 1; i < method_count; ++i) {
        const auto m = static_cast<method>(i);
        const std::string name(to_string(m));
        CHECK(method_from_token(name) == m);
        std::string lower_case = name;
        lower_case[lower_case.size() - 1] = static_cast<char>(lower_case.back() + 32);
        CHECK(method_from_token(lower_case) == method::unknown);
        CHECK(method_from_token(name.substr(0, name.size() - 1)) == method::unknown);
        CHECK(method_from_token(name + "S") == method::unknown);
    }
    CHECK(method_from_token("") == method::unknown);
    CHECK(method_from_token("REGISTRY") == method::unknown);
}

TEST_CASE("sip: From/To forms") {
    struct row { std::string value; std::string display, uri, user, tag; };
    const std::vector<row> rows{
        {"\"A \\\"q\\\" <b>\" <sip:a@h>;tag=1", "A \\\"q\\\" <b>", "sip:a@h", "a", "1"},
        {"Bob <sip:bob@h;transport=udp>;tag=x;foo", "Bob", "sip:bob@h;transport=udp", "bob", "x"},
        {"sip:c@h;tag=9", "", "sip:c@h", "c", "9"},
        {"<tel:+15551234;phone-context=x>", "", "tel:+15551234;phone-context=x", "+15551234", ""},
        {"<sip:h>", "", "sip:h", "", ""},
        {"\"unterminated <sip:a@h>", "unterminated <sip:a@h>", "", "", ""},
        {"<sip:a@h", "", "sip:a@h", "a", ""},
    };
    for (const row& r : rows) {
        INFO(r.value);
        const std::string text = "OPTIONS sip:x SIP/2.0\r\nFrom: " + r.value + "\r\nTo: " + r.value + "\r\n\r\n";
        message_view m;
        REQUIRE(parse_message(text, m) == parse_status::ok);
        CHECK(m.from.display == r.display);
        CHECK(m.from.uri == r.uri);
        CHECK(m.from.user == r.user);
        CHECK(m.from.tag == r.tag);
        // To is split on demand, by the same reader.
        const name_addr to = m.to();
        CHECK(to.display == r.display);
        CHECK(to.uri == r.uri);
        CHECK(to.user == r.user);
        CHECK(to.tag == r.tag);
    }
}

TEST_CASE("sip: expiry granted by a 200 to REGISTER") {
    struct row { std::string headers; std::int64_t granted; };
    const std::vector<row> rows{
        {"Contact: <sip:201@192.0.2.10>;expires=120\r\nExpires: 3600\r\n", 120},
        {"Expires: 300\r\n", 300},
        {"Contact: <sip:201@192.0.2.10>\r\n", -1},
        {"Contact: <sip:201@192.0.2.10>;Expires = 60, <sip:x@y>;expires=10\r\n", 60},
        {"Expires: 99999999999999\r\n", 0xffffffffLL},
    };
    for (const row& r : rows) {
        INFO(r.headers);
        const std::string text = "SIP/2.0 200 OK\r\nCSeq: 2 REGISTER\r\n" + r.headers + "\r\n";
        message_view m;
        REQUIRE(parse_message(text, m) == parse_status::ok);
        CHECK(m.granted_expiry() == r.granted);
    }
}

TEST_CASE("sip: header count is bounded") {
    std::string text = "OPTIONS sip:x SIP/2.0\r\n";
    for (int i = 0; i < max_headers + 1; ++i) text += "X-A: b\r\n";
    text += "\r\n";
    message_view m;
    CHECK(parse_message(text, m) == parse_status::too_many_headers);
}

TEST_CASE("sip: starts_message tells a message start from a continuation segment") {
    struct row { std::string text; bool starts; };
    const std::vector<row> rows{
        {"REGISTER sip:pbx SIP/2.0\r\n", true},
        {"SIP/2.0 200 OK\r\n", true},
        {"INVITE tel:+1555 SIP/2.0\r\n", true},
        {"a=rtpmap:0 PCMU/8000\r\n", false},
        {"v=0\r\no=- 1 1 IN IP4 x\r\n", false},
        {"\r\n\r\n", false},
        {"short", false},
    };
    for (const row& r : rows) {
        INFO(r.text);
        CHECK(starts_message(reinterpret_cast<const std::uint8_t*>(r.text.data()), r.text.size()) == r.starts);
    }
}
