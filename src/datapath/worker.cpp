#include "datapath/worker.hpp"

#include <linux/netfilter.h>
#include <time.h>

#include <algorithm>

#include "util/clock.hpp"

namespace pbxgate {
namespace {

std::uint64_t coarse_seconds() noexcept {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);  // vDSO: no syscall
    return static_cast<std::uint64_t>(ts.tv_sec);
}

drop_record record_of(const packet_view& view, const decision& d, bool monitor, std::uint64_t generation) noexcept {
    drop_record rec;
    rec.src = view.src;
    rec.dst = view.dst;
    rec.sport = view.sport;
    rec.dport = view.dport;
    rec.protocol = view.protocol;
    rec.from = d.from;
    rec.why = d.why;
    rec.service = d.service;
    rec.monitor = monitor;
    rec.generation = generation;
    rec.error = view.error;
    return rec;
}

}  // namespace

void worker::judge_burst(std::span<const received_packet> burst, const published_policy& pub) noexcept {
    const compiled_policy& policy = *pub.policy;
    const engine_mode mode = settings_.mode.value_or(policy.engine().mode);
    const bool monitor = mode == engine_mode::monitor;
    std::uint64_t now_s = 0;
    // Published on their own (a list change recompiles nothing); one load per burst, read
    // in the same RCU section as the policy.
    const blocklist::blocklist_set* lists = settings_.blocklists ? settings_.blocklists->current() : nullptr;
    protect::seconds_t engine_now = 0;  // read once per burst, when a SIP or media stage needs it
    for (const received_packet& rp : burst) {
        packet_view view;
        parse_ip_packet(rp.data, rp.captured_len, rp.wire_len, view);
        decision d = policy.classify(view, rp.meta);
        const bool outbound = view.has_ports && protect::leaves_pbx(policy, view, rp.hook);
        // The host's own packets (OUTPUT hook) are never a blocklisted source.
        blocklist::apply(lists, view.src, outbound || rp.hook == NF_INET_LOCAL_OUT, d);
        // SIP protection: SIP-port packets only (a port-table lookup decided that), so the
        // RTP path pays one predictable branch.
        if (settings_.guard != nullptr && view.has_ports &&
            (outbound || policy.sip_kind_of(d.service) != compiled_policy::sip_kind::none)) {
            protect::sip_stage_input in;
            in.view = &view;
            in.outbound = outbound;
            in.monitor = monitor;
            if (engine_now == 0) engine_now = protect::sip_guard::monotonic_now();
            in.now = engine_now;
            in.pinholes = settings_.pinholes;
            in.media = &media_;
            const protect::guard_outcome o = protect::sip_stage(policy, *settings_.guard, in, d, sip_, message_);
            if (o.banned_now) {
                drop_record rec = record_of(view, d, monitor, pub.generation);
                rec.kind = record_kind::ban;
                rec.ban = o.event;
                if (!drops_.push(rec)) bump(counters_.drop_log_overflow);
            }
        }
        // Negotiated media: a pinhole or a TLS/WSS signalling peer, else no_pinhole. Two
        // compares for every other packet; offloaded RTP never reaches the engine at all.
        std::uint32_t pinhole = media::no_slot;
        if (settings_.pinholes != nullptr && !outbound && media::applies(policy, d)) {
            if (engine_now == 0) engine_now = protect::sip_guard::monotonic_now();
            pinhole = media::judge(policy, *settings_.pinholes, view, engine_now, d);
        }
        const verdict given = monitor ? verdict::accept : d.action;
        // The PBX's own answers are only observed (pbxgate_sip_responses_total counts them):
        // the service x zone counters stay what reached the PBX.
        if (!outbound) counters_.count(d, given, rp.wire_len);
        if (d.action == verdict::drop) {
            drop_record rec = record_of(view, d, monitor, pub.generation);
            if (now_s == 0) now_s = coarse_seconds();
            if (recent_.should_log(rec, now_s) && !drops_.push(rec)) bump(counters_.drop_log_overflow);
        }
        // Flow offload: the verdict becomes NF_REPEAT with our mark, which the steering rules
        // save to the connection so the kernel carries the rest of the flow.
        const offload_action off = offload_.decide(policy, view, rp.meta, d, monitor);
        if (off != offload_action::none) {
            const offload_marks marks = *offload_marks::from_mask(policy.engine().mark_mask);
            const bool acc = off == offload_action::accept;
            backend_.set_repeat(rp.packet_id, marks.apply(rp.meta.mark, acc ? marks.accept_value : marks.drop_value));
            bump(acc ? counters_.offloaded_accepts : counters_.offloaded_drops);
            // From now on the kernel carries this flow: the pinhole's idle clock stops here.
            if (acc && pinhole != media::no_slot) settings_.pinholes->mark_offloaded(pinhole);
        } else {
            backend_.set_verdict(rp.packet_id, given);
        }
    }
    backend_.flush();
    bump(counters_.bursts);
}

void worker::report_overruns() noexcept {
    const std::uint64_t total = backend_.stats().enobufs;
    if (total == overruns_reported_) return;
    const std::uint64_t now_s = coarse_seconds();
    if (overruns_reported_ != 0 && now_s == overrun_reported_s_) return;  // at most once a second
    drop_record rec;
    rec.kind = record_kind::queue_overrun;
    rec.overruns = total;
    if (!drops_.push(rec)) {
        bump(counters_.drop_log_overflow);
        return;  // offered again next time
    }
    overruns_reported_ = total;
    overrun_reported_s_ = now_s;
}

void worker::run(const std::atomic<bool>& stop, verdict drain_verdict) noexcept {
    std::chrono::milliseconds backoff{0};
    while (!stop.load(std::memory_order_relaxed)) {
        // Offline while blocked in recv: a reload's grace period must not wait for traffic.
        qsbr_reader::offline();
        const receive_result r = backend_.receive_burst(burst_, settings_.poll);
        qsbr_reader::online();
        if (r.count > 0) judge_burst(std::span(burst_.data(), r.count), *slot_.current());
        // No quiescent() here: nothing below reads the policy, and the offline() that starts
        // the next round is itself a quiescent state; a second announcement each burst would
        // cost a full memory barrier for nothing.
        counters_.copy_queue_stats(backend_.stats());
        report_overruns();
        if (r.status == receive_status::error) {
            // No spin on a socket that keeps failing, and no heartbeat: a worker that cannot
            // receive must look stalled to the watchdog.
            backoff = std::clamp(backoff * 2, settings_.min_backoff, std::max(settings_.poll, settings_.min_backoff));
            qsbr_reader::offline();
            const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(backoff).count();
            timespec ts{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
            nanosleep(&ts, nullptr);
            qsbr_reader::online();
            continue;
        }
        backoff = std::chrono::milliseconds{0};
        counters_.heartbeat_ns.store(steady_ns(), std::memory_order_relaxed);
    }
    // Stopping: judge what is already waiting (bounded, so a flood cannot keep us here),
    // then give whatever remains the drain verdict and close the queue right away: between
    // a drain and a later close, new packets would wait in a queue nobody reads, and die
    // with it even in fail open.
    for (int round = 0; round < 64; ++round) {
        const receive_result r = backend_.receive_burst(burst_, std::chrono::milliseconds(0));
        if (r.count == 0) break;
        judge_burst(std::span(burst_.data(), r.count), *slot_.current());
        qsbr_reader::quiescent();
    }
    backend_.drain(drain_verdict);
    backend_.close();
    counters_.copy_queue_stats(backend_.stats());
    report_overruns();
    qsbr_reader::offline();
}

}  // namespace pbxgate
