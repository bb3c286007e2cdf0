// Reads the `extends` chain, applies it base first, checks the merged result.
#include <algorithm>
#include <filesystem>
#include <new>

#include <toml++/toml.h>

#include "policy/apply_file.hpp"
#include "policy/asterisk_import.hpp"
#include "policy/check_merged.hpp"
#include "policy/toml_values.hpp"

namespace pbxgate {

namespace {

using namespace policy_detail;

// A longer chain is surely a mistake (or a generated path that never cycles exactly).
constexpr std::size_t max_chain_files = 32;

struct chain_file {
    std::string path;                  // as given, or joined to the extending file's directory
    std::optional<toml::table> table;  // nullopt after a syntax error
};

// Identity of a file for cycle detection: two spellings of one file compare equal.
std::string identity_of(const std::string& path) {
    std::error_code ec;
    auto canonical = std::filesystem::weakly_canonical(path, ec);
    if (ec) {
        canonical = std::filesystem::absolute(path, ec);
        if (ec) canonical = path;
    }
    return canonical.lexically_normal().string();
}

// The extended file is relative to the extending file's directory; lexically normal so
// that messages read "policies/freepbx.toml", not "policies/examples/../freepbx.toml".
std::string resolve_extends(const std::string& from, const std::string& target) {
    const std::filesystem::path joined = std::filesystem::path(from).parent_path() / target;
    return joined.lexically_normal().string();
}

std::optional<std::string> read_text(const file_reader& read, const std::string& path, std::string& why) {
    try {
        if (auto text = read(path)) return text;
        why = "missing or unreadable";
    } catch (const std::bad_alloc&) {
        throw;
    } catch (const std::exception& e) {
        why = e.what();
    }
    return std::nullopt;
}

// After a syntax error toml++ gives up on the file. The lines before the error usually
// still parse; their `extends` lets the chain go on, so the other files' errors are
// reported too. Nothing else of a broken file is applied: half a file would only
// produce bogus follow-on errors.
std::optional<toml::table> parse_before_line(std::string_view text, std::uint32_t error_line) {
    std::size_t end = 0;
    for (std::uint32_t line = 1; line < error_line && end != std::string_view::npos; ++line) {
        end = text.find('\n', end);
        if (end != std::string_view::npos) ++end;
    }
    if (end == std::string_view::npos || end == 0) return std::nullopt;
    try {
        return toml::parse(text.substr(0, end), std::string_view{});
    } catch (const toml::parse_error&) {
        return std::nullopt;
    }
}

struct chain_result {
    std::vector<chain_file> files;  // the top file first
    bool complete = true;           // every file read and parsed
};

chain_result read_chain(const std::string& top, const file_reader& read, diagnostics& diag) {
    chain_result chain;
    std::vector<std::string> identities;
    std::string path = top;
    std::optional<source_location> extended_at;  // the `extends` that named `path`
    while (true) {
        const std::string identity = identity_of(path);
        if (const auto seen = std::find(identities.begin(), identities.end(), identity); seen != identities.end()) {
            std::string cycle;
            for (auto i = static_cast<std::size_t>(seen - identities.begin()); i < chain.files.size(); ++i)
                cycle += chain.files[i].path + " -> ";
            diag.error(*extended_at, "`extends` cycle: " + cycle + path);
            chain.complete = false;
            return chain;
        }
        if (chain.files.size() == max_chain_files) {
            diag.error(*extended_at, "`extends` chain longer than " + std::to_string(max_chain_files) + " files");
            chain.complete = false;
            return chain;
        }
        std::string why;
        const auto text = read_text(read, path, why);
        if (!text) {
            if (extended_at) diag.error(*extended_at, "cannot read '" + path + "', named by `extends`: " + why);
            else diag.error(source_location{path, 0, 0}, "cannot read " + path + ": " + why);
            chain.complete = false;
            return chain;
        }
        identities.push_back(identity);
        chain.files.push_back(chain_file{path, std::nullopt});
        const toml::table* root = nullptr;
        std::optional<toml::table> preamble;
        try {
            chain.files.back().table = toml::parse(*text, std::string_view(path));
            root = &*chain.files.back().table;
        } catch (const toml::parse_error& e) {
            const auto& at = e.source().begin;
            diag.error(source_location{path, at.line, at.column}, "TOML syntax: " + std::string(e.description()));
            chain.complete = false;
            preamble = parse_before_line(*text, at.line);
            root = preamble ? &*preamble : nullptr;
        }
        if (!root) return chain;
        const auto entry = root->find("extends");
        if (entry == root->end()) return chain;
        const auto key_at = location_of(path, entry->first.source());
        const value_context ctx{path, diag, "`extends`"};
        const auto target = read_string(entry->second, ctx);
        if (!target) {
            chain.complete = false;
            return chain;
        }
        if (target->empty()) {
            diag.error(key_at, "`extends` is empty: name the policy file this one overrides");
            chain.complete = false;
            return chain;
        }
        extended_at = key_at;
        path = resolve_extends(path, *target);
    }
}

// Diagnostics read best file by file (the top file first), then line by line.
void sort_diagnostics(std::vector<diagnostic>& list, const std::vector<chain_file>& files) {
    auto rank = [&](const diagnostic& d) {
        for (std::size_t i = 0; i < files.size(); ++i)
            if (files[i].path == d.where.file) return i;
        return files.size();
    };
    std::stable_sort(list.begin(), list.end(), [&](const diagnostic& a, const diagnostic& b) {
        return std::make_tuple(rank(a), a.where.line, a.where.column) <
               std::make_tuple(rank(b), b.where.line, b.where.column);
    });
}

load_result load_unguarded(const std::string& path, const file_reader& read) {
    diagnostics diag;
    chain_result chain = read_chain(path, read, diag);

    policy_draft draft;
    unsigned rank = 0;
    for (auto it = chain.files.rbegin(); it != chain.files.rend(); ++it, ++rank)
        if (it->table) apply_policy_file(*it->table, it->path, rank, draft, diag);
    // With a file missing or unparsed the merged policy is partial: checking it would
    // only report what the missing part would have defined.
    std::vector<std::string> asterisk_files;
    std::vector<diagnostic> warnings;
    if (chain.complete) {
        asterisk_files = import_asterisk_ports(draft, diag, warnings);
        check_merged(draft, diag);
    }

    load_result result;
    sort_diagnostics(diag.list, chain.files);
    result.errors = std::move(diag.list);
    if (!result.errors.empty()) return result;

    policy p;
    p.services.reserve(draft.services.size());
    for (auto& s : draft.services) p.services.push_back(std::move(s.def));
    p.zones = std::move(draft.zones);
    p.engine = std::move(draft.engine);
    p.sip = std::move(draft.sip);
    p.crowdsec = std::move(draft.crowdsec);
    p.media = draft.media;
    index_scanner_lists(p.sip);
    for (auto& f : chain.files) p.files.push_back(std::move(f.path));
    p.asterisk = std::move(draft.asterisk);
    p.blocklists = std::move(draft.blocklists);
    p.asterisk.files = asterisk_files;
    for (auto& f : asterisk_files) p.files.push_back(std::move(f));
    p.warnings = std::move(warnings);
    result.value = std::move(p);
    return result;
}

}  // namespace

load_result load_policy(const std::string& path, const file_reader& read) {
    // Loading must never throw, even out of memory on a huge or hostile file.
    auto internal_error = [&](const char* what) {
        load_result failed;
        try {
            failed.errors.push_back(diagnostic{source_location{path, 0, 0}, std::string("cannot load policy: ") + what});
        } catch (...) {
            // Nothing left to report with; an empty, not-ok result still says "failed".
        }
        return failed;
    };
    try {
        return load_unguarded(path, read);
    } catch (const std::bad_alloc&) {
        return internal_error("out of memory");
    } catch (const std::exception& e) {
        return internal_error(e.what());
    } catch (...) {
        return internal_error("unexpected error");
    }
}

}  // namespace pbxgate
