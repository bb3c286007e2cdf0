#include <filesystem>
#include <fstream>
#include <sstream>

#include "pbxgate/policy.hpp"

namespace pbxgate {

file_reader filesystem_reader() {
    return [](const std::string& path) -> std::optional<std::string> {
        // A directory opens fine as an ifstream on Linux and then fails to read: refuse it
        // up front so it reads as "cannot read" rather than as an empty policy.
        std::error_code ec;
        if (std::filesystem::is_directory(path, ec)) return std::nullopt;
        std::ifstream in(path, std::ios::binary);
        if (!in) return std::nullopt;
        std::ostringstream text;
        text << in.rdbuf();
        if (in.bad()) return std::nullopt;
        return std::move(text).str();
    };
}

}  // namespace pbxgate
