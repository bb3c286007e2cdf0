// The metrics endpoint: address parsing, the answer to each kind of request, and a real
// socket on the loopback.
#include <catch2/catch.hpp>

#include <atomic>

#include "metrics/http_endpoint.hpp"
#include "net/listen_address.hpp"
#include "test_metrics_http_client.hpp"

using namespace pbxgate;

TEST_CASE("metrics: listen addresses", "[metrics]") {
    struct row {
        const char* text;
        bool ok;
        const char* host;
        unsigned port;
        bool ipv6;
        const char* error_part;
    };
    const std::vector<row> rows = {
        {"127.0.0.1:9477", true, "127.0.0.1", 9477, false, ""},
        {"0.0.0.0:0", true, "0.0.0.0", 0, false, ""},
        {"[::1]:9477", true, "::1", 9477, true, ""},
        {"[2001:db8::5]:65535", true, "2001:db8::5", 65535, true, ""},
        {"127.0.0.1", false, "", 0, false, "has no ':PORT'"},
        {"127.0.0.1:", false, "", 0, false, "has no port number"},
        {"127.0.0.1:65536", false, "", 0, false, "has no port number"},
        {"127.0.0.1:94x", false, "", 0, false, "has no port number"},
        {"localhost:9477", false, "", 0, false, "is not a numeric IPv4 address"},
        {"::1:9477", false, "", 0, false, "IPv6 address without brackets"},
        {"[::1]9477", false, "", 0, false, "no closing ']' followed by ':PORT'"},
        {"[127.0.0.1]:9477", false, "", 0, false, "is not a numeric IPv6 address"},
        {"", false, "", 0, false, "has no ':PORT'"},
    };
    for (const auto& r : rows) {
        INFO(r.text);
        std::string why;
        const auto a = parse_listen_address(r.text, &why);
        REQUIRE(a.has_value() == r.ok);
        if (r.ok) {
            CHECK(a->host == r.host);
            CHECK(a->port == r.port);
            CHECK(a->ipv6 == r.ipv6);
        } else {
            CHECK(why.find(r.error_part) != std::string::npos);
        }
    }
}

TEST_CASE("metrics: the answer to each request", "[metrics]") {
    const http_endpoint::render_fn render = [] { return std::string("pbxgate_up 1\n"); };
    struct row {
        const char* request;
        const char* status_line;
        bool has_body;
    };
    const std::vector<row> rows = {
        {"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.0 200 OK\r\n", true},
        {"GET /metrics?name[]=x HTTP/1.0\r\n\r\n", "HTTP/1.0 200 OK\r\n", true},
        {"HEAD /metrics HTTP/1.0\r\n\r\n", "HTTP/1.0 200 OK\r\n", false},
        {"GET / HTTP/1.0\r\n\r\n", "HTTP/1.0 404 Not Found\r\n", false},
        {"GET /metricsx HTTP/1.0\r\n\r\n", "HTTP/1.0 404 Not Found\r\n", false},
        {"POST /metrics HTTP/1.0\r\n\r\n", "HTTP/1.0 405 Method Not Allowed\r\n", false},
        {"garbage\r\n\r\n", "HTTP/1.0 400 Bad Request\r\n", false},
    };
    for (const auto& r : rows) {
        INFO(r.request);
        const std::string resp = http_response_for(r.request, render);
        CHECK(resp.rfind(r.status_line, 0) == 0);
        CHECK((resp.find("pbxgate_up 1\n") != std::string::npos) == r.has_body);
        if (r.has_body || std::string_view(r.request).substr(0, 4) == "HEAD")
            CHECK(resp.find("Content-Type: text/plain; version=0.0.4") != std::string::npos);
        // Content-Length always states the body's length, even for HEAD.
        CHECK(resp.find("Content-Length: ") != std::string::npos);
    }
}

TEST_CASE("metrics: a real endpoint on the loopback serves, refuses, and stops", "[metrics]") {
    std::atomic<int> renders{0};
    listen_address at;
    at.host = "127.0.0.1";
    at.port = 0;  // the kernel picks a free one
    auto ep = std::make_unique<http_endpoint>(at, [&] {
        ++renders;
        return std::string("pbxgate_up 1\n");
    });
    REQUIRE(ep->port() != 0);

    const std::string ok = test::http_exchange(ep->port(), "GET /metrics HTTP/1.0\r\n\r\n");
    CHECK(ok.rfind("HTTP/1.0 200 OK\r\n", 0) == 0);
    CHECK(test::http_body(ok) == "pbxgate_up 1\n");
    CHECK(test::http_exchange(ep->port(), "GET /other HTTP/1.0\r\n\r\n").rfind("HTTP/1.0 404", 0) == 0);
    // A request head larger than the limit is refused without rendering.
    const std::string huge = "GET /metrics HTTP/1.0\r\nX: " + std::string(8000, 'a') + "\r\n\r\n";
    CHECK(test::http_exchange(ep->port(), huge).rfind("HTTP/1.0 431", 0) == 0);
    CHECK(renders.load() == 1);
    CHECK(ep->served() == 3);

    // A second endpoint on the same port is refused with the address in the message.
    at.port = ep->port();
    try {
        http_endpoint clash(at, [] { return std::string(); });
        FAIL("binding a port in use should throw");
    } catch (const std::runtime_error& ex) {
        CHECK(std::string(ex.what()).find("cannot listen on 127.0.0.1:" + std::to_string(at.port)) != std::string::npos);
    }
    const std::uint16_t port = ep->port();
    ep.reset();  // joins the thread; the port is closed
    CHECK(test::http_exchange(port, "GET /metrics HTTP/1.0\r\n\r\n").empty());
}
