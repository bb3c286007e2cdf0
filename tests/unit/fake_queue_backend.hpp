// fake_queue_backend: an in-memory queue_backend for unit tests of the modules above the
// kernel I/O (engine, workers). Script packets in with push(), read verdicts out with
// verdicts(). Test-only: it allocates freely.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <optional>
#include <set>
#include <vector>

#include "queue/queue_backend.hpp"

namespace pbxgate {

class fake_queue_backend final : public queue_backend {
public:
    struct recorded_verdict {
        std::uint32_t id = 0;
        verdict action = verdict::drop;
        std::optional<std::uint32_t> mark;
        bool by_drain = false;
        bool repeat = false;  // set_repeat (flow offload)
        bool operator==(const recorded_verdict&) const = default;
    };

    explicit fake_queue_backend(std::uint16_t queue_num = 0, std::size_t max_burst = 64)
        : queue_num_(queue_num), max_burst_(max_burst) {}

    // Queues one packet (bytes from the IP header on) and returns its id. `wire_len` 0
    // means "not truncated".
    std::uint32_t push(std::vector<std::uint8_t> bytes, packet_meta meta = {}, std::uint32_t wire_len = 0,
                       std::uint32_t indev = 0) {
        received_packet p;
        p.packet_id = next_id_++;
        p.queue_num = queue_num_;
        p.meta = meta;
        p.indev = indev;
        p.captured_len = static_cast<std::uint32_t>(bytes.size());
        p.wire_len = wire_len != 0 ? wire_len : p.captured_len;
        queued_.push_back({std::move(bytes), p});
        return p.packet_id;
    }
    // The next receive_burst() reports this instead of packets (once).
    void script_status(receive_status s) { scripted_status_ = s; }
    // Every receive_burst() from now on reports this (a persistent failure); nullopt ends it.
    void script_persistent_status(std::optional<receive_status> s) { persistent_status_ = s; }
    // Bumps the backend's ENOBUFS count, as a socket overrun would.
    void add_enobufs(std::uint64_t n) { stats_.enobufs += n; }

    receive_result receive_burst(std::span<received_packet> out, std::chrono::milliseconds) noexcept override {
        ++stats_.recv_calls;
        if (closed_) return {0, receive_status::error};
        if (persistent_status_) {
            if (*persistent_status_ == receive_status::error) ++stats_.recv_errors;
            return {0, *persistent_status_};
        }
        if (scripted_status_) {
            const auto s = *scripted_status_;
            scripted_status_.reset();
            return {0, s};
        }
        current_.clear();  // invalidates the previous burst's data, as the real backend does
        const std::size_t n = std::min({out.size(), max_burst_, queued_.size()});
        if (n == 0) return {0, receive_status::timeout};
        for (std::size_t i = 0; i < n; ++i) {
            current_.push_back(std::move(queued_.front()));
            queued_.pop_front();
        }
        for (std::size_t i = 0; i < n; ++i) {
            out[i] = current_[i].packet;
            out[i].data = current_[i].bytes.data();
            outstanding_.insert(out[i].packet_id);
        }
        stats_.packets += n;
        ++stats_.bursts;
        return {n, receive_status::packets};
    }

    void set_verdict(std::uint32_t id, verdict v, std::optional<std::uint32_t> mark = std::nullopt) noexcept override {
        pending_.push_back({id, v, mark, false});
    }
    void set_repeat(std::uint32_t id, std::uint32_t mark) noexcept override {
        pending_.push_back({id, verdict::accept, mark, false, true});
    }

    bool flush() noexcept override {
        if (pending_.empty()) return true;
        ++stats_.send_calls;
        for (const auto& r : pending_) record(r);
        pending_.clear();
        return true;
    }

    std::size_t drain(verdict v) noexcept override {
        flush();
        std::size_t n = 0;
        for (const auto id : std::vector<std::uint32_t>(outstanding_.begin(), outstanding_.end())) {
            record({id, v, std::nullopt, true});
            ++n;
        }
        for (const auto& q : queued_) {
            record({q.packet.packet_id, v, std::nullopt, true});
            ++n;
        }
        queued_.clear();
        drains_ += 1;
        return n;
    }

    void close() noexcept override {
        if (!closed_ && drains_ == 0) drain(verdict::drop);
        closed_ = true;
    }

    const queue_stats& stats() const noexcept override { return stats_; }

    // Every verdict sent, in order. A second verdict for one id, or one for an id never
    // received, is recorded too and counted in stats().netlink_errors, like the kernel's ENOENT.
    const std::vector<recorded_verdict>& verdicts() const noexcept { return verdicts_; }
    std::size_t pending() const noexcept { return pending_.size(); }
    std::size_t outstanding() const noexcept { return outstanding_.size(); }
    std::size_t queued() const noexcept { return queued_.size(); }
    bool closed() const noexcept { return closed_; }
    std::size_t drains() const noexcept { return drains_; }

private:
    struct scripted {
        std::vector<std::uint8_t> bytes;
        received_packet packet;
    };

    void record(const recorded_verdict& r) {
        if (outstanding_.erase(r.id) == 0 && !r.by_drain) ++stats_.netlink_errors;
        ++stats_.verdicts;
        verdicts_.push_back(r);
    }

    std::uint16_t queue_num_;
    std::size_t max_burst_;
    std::uint32_t next_id_ = 1;
    std::deque<scripted> queued_;
    std::vector<scripted> current_;
    std::set<std::uint32_t> outstanding_;
    std::vector<recorded_verdict> pending_;
    std::vector<recorded_verdict> verdicts_;
    std::optional<receive_status> scripted_status_;
    std::optional<receive_status> persistent_status_;
    std::size_t drains_ = 0;
    bool closed_ = false;
    queue_stats stats_;
};

}  // namespace pbxgate
