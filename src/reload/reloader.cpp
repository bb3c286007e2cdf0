#include "reload/reloader.hpp"

#include <exception>

#include "reload/policy_diff.hpp"

namespace pbxgate {

reload_outcome reload_policy(const std::string& path, policy_slot& slot, const file_reader& read) {
    reload_outcome out;
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
    std::unique_ptr<const compiled_policy> next;
    try {
        next = compiled_policy::compile(*loaded.value);
    } catch (const std::exception& e) {
        out.errors.push_back({{path, 0, 0}, std::string("cannot compile the policy: ") + e.what()});
        out.files = before->policy->source().files;
        return out;
    }
    out.summary = describe_policy_change(before->policy->source(), next->source());
    out.files = next->source().files;
    out.generation = slot.publish(std::move(next));
    out.ok = true;
    return out;
}

}  // namespace pbxgate
