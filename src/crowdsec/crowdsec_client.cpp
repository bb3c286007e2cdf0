#include "crowdsec/crowdsec_client.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "util/json_value.hpp"

namespace pbxgate::crowdsec {

using steady = std::chrono::steady_clock;

client::client(client_config config, std::unique_ptr<http_transport> transport)
    : config_(std::move(config)), transport_(std::move(transport)) {}

client::~client() { stop(); }

void client::start() {
    thread_ = std::thread([this] { run(); });
}

void client::stop() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) transport_->abort();  // a call in progress ends now, not at its timeout
    if (thread_.joinable()) thread_.join();
}

void client::set_poll(std::chrono::seconds poll) {
    std::lock_guard lock(mutex_);
    config_.poll = poll;
}

void client::push_alert(own_ban ban) {
    {
        std::lock_guard lock(mutex_);
        if (!config_.machine) return;
        if (outbox_.size() >= config_.max_pending_alerts) {
            outbox_.pop_front();
            ++status_.alerts_dropped;
        }
        outbox_.push_back(std::move(ban));
    }
    wake_.notify_all();
}

std::vector<pull> client::take_pulls() {
    std::lock_guard lock(mutex_);
    std::vector<pull> out;
    out.swap(inbox_);
    return out;
}

client_status client::status() const {
    std::lock_guard lock(mutex_);
    return status_;
}

void client::failed(const std::string& what) {
    std::lock_guard lock(mutex_);
    if (stop_) return;  // the call was cut short by stop(): no outage
    ++status_.errors;
    status_.up = false;
    if (!outage_logged_) {
        spdlog::warn("crowdsec: local API {} unreachable or failing ({}): keeping the last decisions, retrying with "
                     "backoff",
                     config_.api_url, what);
        outage_logged_ = true;
    }
}

void client::succeeded() {
    std::lock_guard lock(mutex_);
    status_.up = true;
    if (outage_logged_) {
        spdlog::info("crowdsec: local API {} reachable again", config_.api_url);
        outage_logged_ = false;
    }
    backoff_.reset();
}

bool client::pull_decisions(std::int64_t now_unix) {
    http_request req;
    req.url = config_.api_url + "v1/decisions/stream" + (started_up_ ? "?startup=false" : "?startup=true");
    req.headers.emplace_back("X-Api-Key", *config_.bouncer_key);
    const http_response r = transport_->send(req, config_.limits);
    if (!r.ok()) {
        failed(r.error.empty() ? "decision stream: HTTP " + std::to_string(r.status) : "decision stream: " + r.error);
        return false;
    }
    stream_parse_result parsed = parse_decision_stream(r.body, config_.max_decisions);
    if (!parsed.delta) {
        failed("decision stream: " + parsed.error);
        return false;
    }
    {
        std::lock_guard lock(mutex_);
        status_.skipped += parsed.delta->skipped.total();
        status_.last_pull_unix = now_unix;
        inbox_.push_back(pull{std::move(*parsed.delta), !started_up_});
    }
    started_up_ = true;
    succeeded();
    return true;
}

bool client::login() {
    const machine_credentials& m = *config_.machine;
    http_request req;
    req.method = "POST";
    req.url = (m.url.empty() ? config_.api_url : m.url) + "v1/watchers/login";
    req.body = login_body(m.login, m.password);
    const http_response r = transport_->send(req, config_.limits);
    if (!r.ok()) {
        failed(r.error.empty() ? "machine login: HTTP " + std::to_string(r.status) : "machine login: " + r.error);
        return false;
    }
    const json_parse_result j = parse_json(r.body);
    const json_value* token = j.value ? j.value->find("token") : nullptr;
    if (token == nullptr || !token->is_string() || token->as_string().empty()) {
        failed("machine login: no token in the answer");
        return false;
    }
    token_ = token->as_string();
    return true;
}

bool client::push_alerts() {
    std::vector<own_ban> batch;
    {
        std::lock_guard lock(mutex_);
        constexpr std::size_t max_batch = 100;
        for (std::size_t i = 0; i < outbox_.size() && i < max_batch; ++i) batch.push_back(outbox_[i]);
    }
    if (batch.empty()) return true;
    if (token_.empty() && !login()) return false;
    const machine_credentials& m = *config_.machine;
    http_request req;
    req.method = "POST";
    req.url = (m.url.empty() ? config_.api_url : m.url) + "v1/alerts";
    req.body = alerts_body(batch);
    for (int attempt = 0; attempt < 2; ++attempt) {
        req.headers = {{"Authorization", "Bearer " + token_}};
        const http_response r = transport_->send(req, config_.limits);
        if (r.status == 401 && attempt == 0) {  // the token expired: log in again, once
            token_.clear();
            if (!login()) return false;
            continue;
        }
        if (!r.ok()) {
            failed(r.error.empty() ? "alerts: HTTP " + std::to_string(r.status) : "alerts: " + r.error);
            return false;
        }
        break;
    }
    {
        std::lock_guard lock(mutex_);
        // Only this thread pops, so the batch is still the outbox's front (minus what
        // overflowed meanwhile, counted as dropped).
        const std::size_t n = std::min(batch.size(), outbox_.size());
        outbox_.erase(outbox_.begin(), outbox_.begin() + static_cast<std::ptrdiff_t>(n));
        status_.alerts_pushed += batch.size();
    }
    succeeded();
    return true;
}

steady::time_point client::step(steady::time_point now, std::int64_t now_unix) {
    std::chrono::seconds poll;
    bool alerts_waiting;
    {
        std::lock_guard lock(mutex_);
        poll = config_.poll;
        alerts_waiting = !outbox_.empty();
    }
    if (config_.bouncer_key && now >= next_pull_) {
        if (pull_decisions(now_unix)) next_pull_ = now + poll;
        else next_pull_ = now + std::min<std::chrono::seconds>(backoff_.next(), std::max(poll, std::chrono::seconds(60)));
    }
    if (config_.machine && alerts_waiting && now >= next_push_) {
        if (push_alerts()) next_push_ = now;
        else next_push_ = now + backoff_.next();
    }
    steady::time_point next = config_.bouncer_key ? next_pull_ : now + poll;
    {
        std::lock_guard lock(mutex_);
        if (!outbox_.empty()) next = std::min(next, std::max(next_push_, now));
    }
    return next;
}

void client::run() {
    for (;;) {
        const auto now = steady::now();
        const auto now_unix = std::chrono::duration_cast<std::chrono::seconds>(
                                  std::chrono::system_clock::now().time_since_epoch()).count();
        const steady::time_point next = step(now, now_unix);
        std::unique_lock lock(mutex_);
        if (stop_) return;
        // An alert queued meanwhile wakes us at once (when no backoff holds it back).
        wake_.wait_until(lock, next, [&] { return stop_ || (!outbox_.empty() && steady::now() >= next_push_); });
        if (stop_) return;
    }
}

}  // namespace pbxgate::crowdsec
