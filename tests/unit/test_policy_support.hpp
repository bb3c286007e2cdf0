// In-memory policy files for the loader tests.
#pragma once

#include <map>
#include <string>

#include "pbxgate/policy.hpp"

namespace pbxgate::test {

using file_map = std::map<std::string, std::string>;

inline file_reader memory_reader(file_map files) {
    return [files = std::move(files)](const std::string& path) -> std::optional<std::string> {
        const auto it = files.find(path);
        if (it == files.end()) return std::nullopt;
        return it->second;
    };
}

inline load_result load_from(const file_map& files, const std::string& top) {
    return load_policy(top, memory_reader(files));
}

// Every error, one per line, for INFO() and failure messages.
inline std::string error_lines(const load_result& r) {
    std::string out;
    for (const auto& e : r.errors) out += e.to_string() + "\n";
    return out;
}

inline const service_def* find_service(const policy& p, const std::string& name) {
    for (const auto& s : p.services)
        if (s.name == name) return &s;
    return nullptr;
}

inline zone_set zones_of(std::initializer_list<zone> zs) {
    zone_set set = 0;
    for (const auto z : zs) set = static_cast<zone_set>(set | zone_bit(z));
    return set;
}

}  // namespace pbxgate::test
