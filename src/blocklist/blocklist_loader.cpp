#include "blocklist/blocklist_loader.hpp"

#include <exception>

namespace pbxgate::blocklist {
namespace {

const file_contents* find_file(const blocklist_set* set, const std::string& path) {
    if (!set) return nullptr;
    for (const file_contents& f : set->files())
        if (f.path == path) return &f;
    return nullptr;
}

bool overlap(const ip_prefix& a, const ip_prefix& b) noexcept {
    if (a.address.family != b.address.family) return false;
    return a.length <= b.length ? a.contains(b.address) : b.contains(a.address);
}

}  // namespace

std::unique_ptr<const blocklist_set> load(const blocklist_settings& settings, const file_reader& read,
                                         const blocklist_set* previous, load_report& report) {
    const auto start = std::chrono::steady_clock::now();
    report = load_report{};
    std::vector<file_contents> files;
    for (const std::string& path : settings.files) {
        file_status st;
        st.path = path;
        std::optional<std::string> text;
        std::string why = "missing or unreadable";
        try {
            text = read(path);
        } catch (const std::exception& ex) {
            why = ex.what();
        }
        if (!text) {
            st.readable = false;
            ++report.errors;
            const file_contents* old = find_file(previous, path);
            report.problems.push_back(path + ": cannot read the blocklist (" + why + "); " +
                                      (old ? "its previous " + std::to_string(old->entries.size()) + " entries stay in force"
                                           : std::string("no entries from it")));
            files.push_back(old ? *old : file_contents{path, {}});
            st.entries = files.back().entries.size();
            report.files.push_back(std::move(st));
            continue;
        }
        parsed_file parsed = parse_file(*text, settings.max_entries);
        text.reset();
        for (const line_error& e : parsed.errors)
            report.problems.push_back(path + ":" + std::to_string(e.line) + ": " + e.message + " (line skipped)");
        if (parsed.malformed > parsed.errors.size())
            report.problems.push_back(path + ": " + std::to_string(parsed.malformed - parsed.errors.size()) +
                                      " more malformed line(s) skipped");
        if (parsed.refused > 0)
            report.problems.push_back(path + ": " + std::to_string(parsed.refused) +
                                      " entries beyond blocklists.max_entries = " + std::to_string(settings.max_entries) +
                                      " refused");
        report.errors += parsed.malformed;
        st.malformed = parsed.malformed;
        st.refused = parsed.refused;
        st.entries = parsed.entries.size();
        files.push_back(file_contents{path, std::move(parsed.entries)});
        report.files.push_back(std::move(st));
    }
    auto set = blocklist_set::build(std::move(files));
    report.duration = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
    return set;
}

std::vector<ip_prefix> kernel_members(const blocklist_set& set, const zone_defs& zones) {
    std::vector<ip_prefix> exempt = zones.trusted;
    exempt.insert(exempt.end(), zones.lan.begin(), zones.lan.end());
    exempt.push_back(*parse_prefix("127.0.0.0/8"));
    exempt.push_back(*parse_prefix("::1/128"));
    std::vector<ip_prefix> out;
    out.reserve(set.entry_count());
    for (const file_contents& f : set.files())
        for (const entry& e : f.entries) {
            bool clash = false;
            for (const ip_prefix& x : exempt)
                if (overlap(e.prefix, x)) {
                    clash = true;
                    break;
                }
            if (!clash) out.push_back(e.prefix);
        }
    return out;
}

}  // namespace pbxgate::blocklist
