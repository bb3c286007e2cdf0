#include "reload/reloader.hpp"

#include <chrono>
#include <exception>

#include "reload/crowdsec_keys.hpp"
#include "reload/engine_keys.hpp"
#include "reload/policy_diff.hpp"

namespace pbxgate {

reload_outcome reload_policy(const std::string& path, policy_slot& slot, const file_reader& read) {
    reload_outcome out;
    const auto started = std::chrono::steady_clock::now();
    // The publisher is the only thread that frees policies, so it may read the current one
    // without being an RCU reader.
    const published_policy* before = slot.current();
    out.generation = before->generation;
    load_result loaded = load_policy(path, read);
    if (!loaded.ok()) {
        out.errors = std::move(loaded.errors);
        out.files = before->policy->source().files;
        return out;
    }
    const policy& running = before->policy->source();
    out.summary = describe_policy_change(running, *loaded.value);
    out.kept = keep_restart_only_keys(loaded.value->engine, running.engine);
    for (std::string& line : keep_restart_only_crowdsec_keys(loaded.value->crowdsec, running.crowdsec))
        out.kept.push_back(std::move(line));
    std::unique_ptr<const compiled_policy> next;
    try {
        // The previous generation lends its service ids: counters indexed by id stay right.
        next = compiled_policy::compile(*loaded.value, before->policy.get());
    } catch (const std::exception& e) {
        out.errors.push_back({{path, 0, 0}, std::string("cannot compile the policy: ") + e.what()});
        out.files = before->policy->source().files;
        return out;
    }
    out.files = next->source().files;
    out.generation = slot.publish(std::move(next));
    out.ok = true;
    out.duration = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started);
    return out;
}

}  // namespace pbxgate
