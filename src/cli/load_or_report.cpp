#include "cli/load_or_report.hpp"

#include <cstdio>

namespace pbxgate::cli {

std::unique_ptr<const compiled_policy> load_or_report(const std::string& path) {
    const load_result loaded = load_policy(path);
    if (!loaded.ok()) {
        for (const diagnostic& d : loaded.errors) std::fprintf(stderr, "%s\n", d.to_string().c_str());
        std::fprintf(stderr, "%s: %zu error%s, policy not loaded\n", path.c_str(), loaded.errors.size(),
                     loaded.errors.size() == 1 ? "" : "s");
        return nullptr;
    }
    return compiled_policy::compile(*loaded.value);
}

}  // namespace pbxgate::cli
