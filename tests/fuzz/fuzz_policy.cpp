// Fuzz target: the policy loader and compiler, TOML text -> validate -> compile. The input
// is a site file's text; it may `extends = "freepbx.toml"` (an in-memory copy of the
// shipped policy) or name itself, a missing file or anything else. Checks: loading never
// throws, an accepted policy always compiles, a refused one always says why.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"

using namespace pbxgate;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const auto shipped = fuzz::embedded_files();
    auto files = shipped;
    files[fuzz::top_path] = std::string(reinterpret_cast<const char*>(data), size);
    const load_result r = load_policy(fuzz::top_path, fuzz::memory_reader(std::move(files)));
    if (!r.ok()) {
        FUZZ_CHECK(!r.errors.empty());
        FUZZ_CHECK(!r.value.has_value());
        for (const diagnostic& d : r.errors) FUZZ_CHECK(!d.to_string().empty());
        return 0;
    }
    FUZZ_CHECK(!r.value->files.empty() && r.value->files.front() == fuzz::top_path);
    const auto compiled = compiled_policy::compile(*r.value);
    FUZZ_CHECK(compiled->service_count() <= r.value->services.size());
    for (const service_def& s : r.value->services)
        for (const port_range& p : s.ports) FUZZ_CHECK(p.first <= p.last);
    return 0;
}
