// The engine's link to a CrowdSec local API, on a thread of its own (never a worker's, never
// the main loop's): pulls the decision stream every poll_seconds (startup=true until one pull
// succeeds, then deltas) and pushes pbxgate's own bans as alerts. What it pulls waits in an
// inbox the main loop takes (take_pulls) and applies to the ban table; a slow, dead or
// hostile API only delays this thread (HTTP timeouts, bounded answers).
//
// Offline: failures retry with backoff (1 s doubling to 60 s, never slower than the poll),
// one log line when the API goes away and one when it is back.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "crowdsec/alert_json.hpp"
#include "crowdsec/backoff.hpp"
#include "crowdsec/credentials.hpp"
#include "crowdsec/decision_stream.hpp"
#include "crowdsec/http_transport.hpp"

namespace pbxgate::crowdsec {

struct client_config {
    std::string api_url;                      // ends with '/'
    std::optional<std::string> bouncer_key;   // pull decisions when set
    std::optional<machine_credentials> machine;  // push alerts when set
    std::chrono::seconds poll{10};
    http_limits limits;
    std::size_t max_decisions = 262144;       // per list of one answer
    std::size_t max_pending_alerts = 4096;    // alerts waiting for the API; older ones dropped
};

// One successful pull: the decisions, and whether it was a startup (full) answer.
struct pull {
    stream_delta delta;
    bool full = false;
};

struct client_status {
    bool up = false;                  // the last call to the API succeeded
    std::int64_t last_pull_unix = 0;  // 0: never
    std::uint64_t alerts_pushed = 0;
    std::uint64_t alerts_dropped = 0;
    std::uint64_t errors = 0;         // failed calls, bad answers
    std::uint64_t skipped = 0;        // decisions not applied: other type or scope, malformed, over limit
};

class client {
public:
    client(client_config config, std::unique_ptr<http_transport> transport);
    ~client();
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    void start();
    void stop();

    void set_poll(std::chrono::seconds poll);
    void push_alert(own_ban ban);      // main thread: queued, sent by the client's thread
    std::vector<pull> take_pulls();    // main thread
    client_status status() const;

    // One round of work (what the thread does each time it wakes): pull when due, push what
    // waits. Returns when the next round is due. Public for unit tests (no thread).
    std::chrono::steady_clock::time_point step(std::chrono::steady_clock::time_point now, std::int64_t now_unix);

private:
    bool pull_decisions(std::int64_t now_unix);
    bool push_alerts();
    bool login();
    void failed(const std::string& what);
    void succeeded();
    void run();

    client_config config_;
    std::unique_ptr<http_transport> transport_;
    std::string token_;           // JWT of the machine login
    bool started_up_ = false;     // a startup pull succeeded
    backoff backoff_;
    std::chrono::steady_clock::time_point next_pull_{};
    std::chrono::steady_clock::time_point next_push_{};

    mutable std::mutex mutex_;    // guards everything below
    std::condition_variable wake_;
    bool stop_ = false;
    std::deque<own_ban> outbox_;
    std::vector<pull> inbox_;
    client_status status_;
    bool outage_logged_ = false;
    std::thread thread_;
};

}  // namespace pbxgate::crowdsec
