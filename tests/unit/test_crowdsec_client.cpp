// The CrowdSec client against a fake HTTP transport: startup then delta pulls with the
// bouncer key, machine login and alerts, outage and recovery, status numbers.
#include <catch2/catch.hpp>

#include <atomic>
#include <deque>
#include <thread>
#include <functional>
#include <string>

#include "crowdsec/alert_json.hpp"
#include "crowdsec/crowdsec_client.hpp"
#include "util/json_value.hpp"

using namespace pbxgate;
using namespace pbxgate::crowdsec;

namespace {

// Answers from a function of the request; records every request.
class fake_transport final : public http_transport {
public:
    std::function<http_response(const http_request&)> answer;
    std::vector<http_request>* seen;
    explicit fake_transport(std::vector<http_request>* s) : seen(s) {}
    http_response send(const http_request& req, const http_limits&) override {
        seen->push_back(req);
        return answer(req);
    }
};

http_response ok(std::string body) {
    http_response r;
    r.status = 200;
    r.body = std::move(body);
    return r;
}

http_response down() {
    http_response r;
    r.error = "Couldn't connect to server";
    return r;
}

std::string header(const http_request& r, const std::string& name) {
    for (const auto& [n, v] : r.headers)
        if (n == name) return v;
    return {};
}

const std::string stream_one =
    R"({"new":[{"id":1,"origin":"cscli","type":"ban","scope":"Ip","value":"198.51.100.7","duration":"1h","scenario":"m"},
               {"id":2,"origin":"cscli","type":"captcha","scope":"Ip","value":"198.51.100.8","duration":"1h","scenario":"m"}],
       "deleted":[]})";

using steady = std::chrono::steady_clock;

}  // namespace

TEST_CASE("crowdsec client: startup pull, then deltas, with the key in X-Api-Key") {
    std::vector<http_request> seen;
    auto t = std::make_unique<fake_transport>(&seen);
    t->answer = [](const http_request&) { return ok(stream_one); };
    client_config cfg;
    cfg.api_url = "http://192.0.2.1:8080/";
    cfg.bouncer_key = "KEY123";
    cfg.poll = std::chrono::seconds(2);
    client c(cfg, std::move(t));
    const auto t0 = steady::now();
    auto next = c.step(t0, 1000);
    CHECK(next == t0 + std::chrono::seconds(2));
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].url == "http://192.0.2.1:8080/v1/decisions/stream?startup=true");
    CHECK(header(seen[0], "X-Api-Key") == "KEY123");
    auto pulls = c.take_pulls();
    REQUIRE(pulls.size() == 1);
    CHECK(pulls[0].full);
    CHECK(pulls[0].delta.added.size() == 1);
    CHECK(c.status().up);
    CHECK(c.status().skipped == 1);
    CHECK(c.status().last_pull_unix == 1000);

    c.step(t0 + std::chrono::seconds(1), 1001);  // not due yet
    CHECK(seen.size() == 1);
    c.step(t0 + std::chrono::seconds(2), 1002);
    REQUIRE(seen.size() == 2);
    CHECK(seen[1].url == "http://192.0.2.1:8080/v1/decisions/stream?startup=false");
    pulls = c.take_pulls();
    REQUIRE(pulls.size() == 1);
    CHECK_FALSE(pulls[0].full);
}

TEST_CASE("crowdsec client: an outage keeps state, backs off, counts errors; recovery resumes deltas") {
    std::vector<http_request> seen;
    auto t = std::make_unique<fake_transport>(&seen);
    bool api_up = true;
    t->answer = [&](const http_request&) { return api_up ? ok(stream_one) : down(); };
    client_config cfg;
    cfg.api_url = "http://192.0.2.1:8080/";
    cfg.bouncer_key = "K";
    cfg.poll = std::chrono::seconds(1);
    client c(cfg, std::move(t));
    auto now = steady::now();
    c.step(now, 1000);
    c.take_pulls();
    api_up = false;
    std::vector<long> delays;
    for (int i = 0; i < 5; ++i) {
        now += std::chrono::seconds(100);
        const auto next = c.step(now, 1000 + i);
        delays.push_back(std::chrono::duration_cast<std::chrono::seconds>(next - now).count());
    }
    CHECK(delays == std::vector<long>{1, 2, 4, 8, 16});
    CHECK_FALSE(c.status().up);
    CHECK(c.status().errors == 5);
    CHECK(c.status().last_pull_unix == 1000);
    CHECK(c.take_pulls().empty());
    api_up = true;
    now += std::chrono::seconds(100);
    CHECK(std::chrono::duration_cast<std::chrono::seconds>(c.step(now, 2000) - now).count() == 1);
    CHECK(c.status().up);
    CHECK(seen.back().url.find("startup=false") != std::string::npos);  // deltas: the API remembers our last pull
}

TEST_CASE("crowdsec client: bad answers are errors, never applied") {
    struct row {
        http_response r;
    };
    http_response forbidden;
    forbidden.status = 403;
    forbidden.body = R"({"message":"access forbidden"})";
    for (const http_response& r : {forbidden, ok("<html>"), ok(R"({"new":5})")}) {
        std::vector<http_request> seen;
        auto t = std::make_unique<fake_transport>(&seen);
        t->answer = [r](const http_request&) { return r; };
        client_config cfg;
        cfg.api_url = "http://192.0.2.1:8080/";
        cfg.bouncer_key = "K";
        client c(cfg, std::move(t));
        c.step(steady::now(), 1000);
        const auto pulls = c.take_pulls();
        // {"new":5}: a stream whose list is no array: an empty delta, the list counted.
        if (r.body == R"({"new":5})") {
            CHECK(pulls.size() == 1);
            CHECK(c.status().skipped == 1);
        } else {
            CHECK(pulls.empty());
            CHECK(c.status().errors == 1);
        }
    }
}

TEST_CASE("crowdsec client: own bans go out as alerts after a machine login; 401 logs in again") {
    std::vector<http_request> seen;
    auto t = std::make_unique<fake_transport>(&seen);
    int logins = 0;
    bool expire_once = true;
    t->answer = [&](const http_request& req) {
        if (req.url.ends_with("/v1/watchers/login")) {
            ++logins;
            return ok(R"({"code":200,"expire":"2030-01-01T00:00:00Z","token":"JWT)" + std::to_string(logins) + "\"}");
        }
        if (req.url.ends_with("/v1/alerts")) {
            if (header(req, "Authorization") == "Bearer JWT1" && expire_once) {
                expire_once = false;
                http_response r;
                r.status = 401;
                return r;
            }
            return ok(R"(["1"])");
        }
        return down();
    };
    client_config cfg;
    cfg.api_url = "http://192.0.2.1:8080/";
    cfg.machine = machine_credentials{"", "pbx-a", "pw"};
    client c(cfg, std::move(t));
    c.push_alert(own_ban{*parse_prefix("198.51.100.7/32"), "pbxgate/sip-scanner", "ban 198.51.100.7/32 reason scanner",
                         86400, 1'800'000'000});
    c.step(steady::now(), 1'800'000'000);
    CHECK(c.status().alerts_pushed == 1);
    CHECK(logins == 2);
    REQUIRE(seen.size() == 4);  // login, alerts (401), login, alerts
    const auto login = parse_json(seen[0].body);
    REQUIRE(login.value);
    CHECK(login.value->find("machine_id")->as_string() == "pbx-a");
    CHECK(login.value->find("password")->as_string() == "pw");
    const auto alerts = parse_json(seen[3].body);
    REQUIRE(alerts.value);
    REQUIRE(alerts.value->is_array());
    const json_value& a = alerts.value->items().at(0);
    CHECK(a.find("scenario")->as_string() == "pbxgate/sip-scanner");
    CHECK(a.find("source")->find("scope")->as_string() == "Ip");
    CHECK(a.find("source")->find("value")->as_string() == "198.51.100.7");
    const json_value& d = a.find("decisions")->items().at(0);
    CHECK(d.find("type")->as_string() == "ban");
    CHECK(d.find("duration")->as_string() == "86400s");
    CHECK(d.find("value")->as_string() == "198.51.100.7");
    // Every field CrowdSec's models.Alert requires.
    for (const char* k : {"capacity", "events", "events_count", "leakspeed", "message", "scenario", "scenario_hash",
                          "scenario_version", "simulated", "source", "start_at", "stop_at"})
        CHECK(a.find(k) != nullptr);
    CHECK(a.find("start_at")->as_string() == "2027-01-15T08:00:00Z");
}

TEST_CASE("crowdsec: which own bans are shared, under which scenario") {
    CHECK(scenario_for("scanner") == "pbxgate/sip-scanner");
    CHECK(scenario_for("auth_failures") == "pbxgate/sip-bruteforce");
    CHECK(scenario_for("request_rate") == "pbxgate/sip-flood");
    CHECK_FALSE(scenario_for("crowdsec"));  // never pushed back
    CHECK_FALSE(scenario_for("manual"));
}

TEST_CASE("crowdsec: an IPv6 own ban (a /64 source) goes out as a Range") {
    const std::string body =
        alerts_body({own_ban{*parse_prefix("2001:db8:1:2::/64"), "pbxgate/sip-flood", "m", 600, 1'800'000'000}});
    const auto j = parse_json(body);
    REQUIRE(j.value);
    const json_value& a = j.value->items().at(0);
    CHECK(a.find("source")->find("scope")->as_string() == "Range");
    CHECK(a.find("decisions")->items().at(0).find("value")->as_string() == "2001:db8:1:2::/64");
}

TEST_CASE("crowdsec client: a hung API never holds up the engine's stop") {
    // The transport blocks like a peer that accepted the connection and never answers,
    // until abort() - what curl_transport's progress callback does.
    class hung_transport final : public http_transport {
    public:
        std::atomic<bool> aborted{false};
        std::atomic<int> calls{0};
        http_response send(const http_request&, const http_limits&) override {
            ++calls;
            for (int i = 0; i < 1000 && !aborted; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
            return down();
        }
        void abort() noexcept override { aborted = true; }
    };
    auto t = std::make_unique<hung_transport>();
    hung_transport* raw = t.get();
    client_config cfg;
    cfg.api_url = "http://192.0.2.1:8080/";
    cfg.bouncer_key = "K";
    client c(cfg, std::move(t));
    c.start();
    for (int i = 0; i < 200 && raw->calls == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    REQUIRE(raw->calls == 1);
    const auto t0 = steady::now();
    c.stop();
    CHECK(steady::now() - t0 < std::chrono::seconds(1));
    CHECK(c.status().errors == 0);  // cut short by the stop: not an outage
}

TEST_CASE("crowdsec client: a full alert queue drops the oldest, counted") {
    std::vector<http_request> seen;
    auto t = std::make_unique<fake_transport>(&seen);
    t->answer = [](const http_request&) { return down(); };
    client_config cfg;
    cfg.api_url = "http://192.0.2.1:8080/";
    cfg.machine = machine_credentials{"", "a", "b"};
    cfg.max_pending_alerts = 3;
    client c(cfg, std::move(t));
    for (int i = 0; i < 5; ++i) c.push_alert(own_ban{*parse_prefix("198.51.100.7/32"), "s", "m", 1, 1});
    CHECK(c.status().alerts_dropped == 2);
}
