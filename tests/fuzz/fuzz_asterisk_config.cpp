// Fuzz target: the Asterisk config reader and port mapping. The input is every file the
// mapping reads (pjsip.conf, sip.conf, rtp.conf...), held in memory with two include
// targets cut from it, so #include, templates and appends meet arbitrary text. Checks:
// never throws or crashes; a refused config always says where; imported ranges are sane.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "asterisk/port_mapping.hpp"
#include "fuzz_support.hpp"

using namespace pbxgate;
using namespace pbxgate::asterisk;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    std::map<std::string, std::string> files;
    for (const char* name : {"pjsip.conf", "sip.conf", "rtp.conf", "udptl.conf", "iax.conf", "http.conf"})
        files[std::string("/etc/asterisk/") + name] = text;
    files["/etc/asterisk/a_custom.conf"] = text.substr(0, size / 2);
    files["/etc/asterisk/b_custom.conf"] = text.substr(size / 2);
    config_fs fs;
    fs.read = [&files](const std::string& path, std::size_t max_bytes, bool& too_big) -> std::optional<std::string> {
        too_big = false;
        const auto it = files.find(path);
        if (it == files.end()) return std::nullopt;
        if (it->second.size() > max_bytes) {
            too_big = true;
            return std::nullopt;
        }
        return it->second;
    };
    // Exact names, and a trailing '*' as a prefix match: enough globbing to reach both paths.
    fs.glob = [&files](const std::string& pattern) {
        std::vector<std::string> out;
        const auto star = pattern.find('*');
        for (const auto& [name, body] : files)
            if (star == std::string::npos ? name == pattern : name.compare(0, star, pattern, 0, star) == 0)
                out.push_back(name);
        return out;
    };
    fs.resolve = [](const std::string& path) { return path; };
    reader_limits limits;
    limits.max_depth = 6;
    limits.max_files = 64;
    limits.max_variables = 20000;
    const import_result r = import_ports("/etc/asterisk", fs, limits);
    for (const diagnostic& d : r.errors) FUZZ_CHECK(!d.where.file.empty() && !d.to_string().empty());
    for (const imported_port& p : r.ports) {
        FUZZ_CHECK(p.ports.first <= p.ports.last);
        FUZZ_CHECK(std::find(r.services.begin(), r.services.end(), p.service) != r.services.end());
    }
    return 0;
}
