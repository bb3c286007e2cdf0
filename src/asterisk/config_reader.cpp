#include "asterisk/config_reader.hpp"

#include <glob.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <new>

namespace pbxgate::asterisk {

namespace {

// Asterisk's MAX_NESTED_COMMENTS.
constexpr int max_comment_nesting = 128;

bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

std::string trim(std::string_view s) {
    std::size_t b = 0, e = s.size();
    while (b < e && is_space(s[b])) ++b;
    while (e > b && is_space(s[e - 1])) --e;
    return std::string(s.substr(b, e - b));
}

// One line after comments are cut: the text, and for each kept byte its column in the
// raw line (1-based), so errors point into the file as the admin sees it.
struct clean_line {
    std::string text;
    std::vector<std::uint32_t> cols;
    std::uint32_t col_at(std::size_t i) const noexcept {
        if (cols.empty()) return 1;
        return i < cols.size() ? cols[i] : cols.back() + 1;
    }
};

class reader {
public:
    reader(const std::string& dir, const config_fs& fs, const reader_limits& limits)
        : dir_(dir), fs_(fs), limits_(limits) {}

    read_result run(const std::string& file) {
        read_result r;
        const std::string path = resolve_name(file);
        if (!load_file(path, 0, source_location{path, 0, 0}, false)) {
            r.errors = std::move(errors_);
            return r;
        }
        r.value = std::move(cfg_);
        return r;
    }

private:
    std::string resolve_name(const std::string& name) const {
        if (!name.empty() && name.front() == '/') return name;
        if (dir_.empty()) return name;
        return dir_.back() == '/' ? dir_ + name : dir_ + "/" + name;
    }

    void note_file(const std::string& path) {
        auto add = [this](const std::string& p) {
            if (!p.empty() && std::find(cfg_.files.begin(), cfg_.files.end(), p) == cfg_.files.end())
                cfg_.files.push_back(p);
        };
        add(path);
        if (fs_.resolve) add(fs_.resolve(path));
    }

    bool fail(source_location where, std::string message) {
        errors_.push_back(diagnostic{std::move(where), std::move(message)});
        return false;
    }

    // Reads and parses one file into cfg_. `from` is the #include line (for messages).
    bool load_file(const std::string& path, unsigned depth, const source_location& from, bool included) {
        if (++files_read_ > limits_.max_files)
            return fail(from, "more than " + std::to_string(limits_.max_files) + " configuration files read (an #include loop?)");
        note_file(path);
        bool too_big = false;
        std::optional<std::string> text = fs_.read ? fs_.read(path, limits_.max_file_bytes, too_big) : std::nullopt;
        if (too_big)
            return fail(source_location{path, 1, 1}, "file larger than " + std::to_string(limits_.max_file_bytes) + " bytes");
        if (!text) {
            if (included) return fail(from, "the file '" + path + "' was listed as a #include but it does not exist");
            return fail(source_location{path, 0, 0}, "cannot read " + path);
        }
        std::string_view body = *text;
        if (body.substr(0, 3) == "\xEF\xBB\xBF") body.remove_prefix(3);  // UTF-8 BOM (editors on Windows)

        int comment_level = 0;
        std::uint32_t line_no = 0;
        std::size_t pos = 0;
        while (pos <= body.size()) {
            const std::size_t nl = body.find('\n', pos);
            const std::string_view raw = body.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
            ++line_no;
            const clean_line line = strip_comments(raw, comment_level);
            if (!process_line(line, path, line_no, depth)) return false;
            if (nl == std::string_view::npos) break;
            pos = nl + 1;
        }
        return true;
    }

    // config.c's comment handling: `;` to the end of the line, `\;` a literal semicolon,
    // `;--` (not followed by a 4th `-`) opens a nestable block that `--;` closes.
    static clean_line strip_comments(std::string_view raw, int& level) {
        clean_line out;
        std::size_t block_text_start = 0;  // `--;` needs its two dashes after the opener
        for (std::size_t i = 0; i < raw.size(); ++i) {
            const char c = raw[i];
            if (c == ';') {
                if (level == 0 && i > 0 && raw[i - 1] == '\\' && !out.text.empty() && out.text.back() == '\\') {
                    out.text.back() = ';';
                    continue;
                }
                if (i + 2 < raw.size() && raw[i + 1] == '-' && raw[i + 2] == '-' &&
                    (i + 3 >= raw.size() || raw[i + 3] != '-')) {
                    if (level < max_comment_nesting) ++level;
                    i += 2;
                    block_text_start = i + 1;
                    continue;
                }
                if (level > 0) {
                    if (i >= block_text_start + 2 && raw[i - 1] == '-' && raw[i - 2] == '-') {
                        --level;
                        block_text_start = i + 1;
                    }
                    continue;
                }
                break;  // a plain comment: the rest of the line
            }
            if (level > 0) continue;
            out.text.push_back(c);
            out.cols.push_back(static_cast<std::uint32_t>(i + 1));
        }
        return out;
    }

    category* find_category(const std::string& name, const std::string& filter) {
        for (auto& c : cfg_.categories) {
            if (!iequals(c.name, name)) continue;
            if (filter.empty()) return &c;
            // `+type=transport`: the category whose variable matches.
            const auto eq = filter.find('=');
            const std::string key = trim(filter.substr(0, eq));
            const std::string want = eq == std::string::npos ? "" : trim(filter.substr(eq + 1));
            for (const auto& v : c.vars)
                if (iequals(v.name, key) && iequals(v.value, want)) return &c;
        }
        return nullptr;
    }

    bool add_variable(variable v) {
        if (++variables_ > limits_.max_variables)
            return fail(v.where, "more than " + std::to_string(limits_.max_variables) + " settings in the configuration");
        cfg_.categories[current_].vars.push_back(std::move(v));
        return true;
    }

    bool process_category(const clean_line& line, std::size_t first, const std::string& path, std::uint32_t line_no) {
        const std::string& t = line.text;
        const auto at = [&](std::size_t i) { return source_location{path, line_no, line.col_at(i)}; };
        const std::size_t close = t.find(']', first);
        if (close == std::string::npos) return fail(at(first), "parse error: no closing ']' in the category name");
        category cat;
        cat.name = t.substr(first + 1, close - first - 1);
        cat.where = at(first);
        std::size_t after = close + 1;
        std::vector<std::string> options;
        if (after < t.size() && t[after] == '(') {
            const std::size_t end = t.find(')', after);
            if (end == std::string::npos) return fail(at(after), "parse error: no closing ')' after the category options");
            std::string list = t.substr(after + 1, end - after - 1);
            std::size_t start = 0;
            while (start <= list.size()) {
                const std::size_t comma = list.find(',', start);
                options.push_back(trim(list.substr(start, comma == std::string::npos ? std::string::npos : comma - start)));
                if (comma == std::string::npos) break;
                start = comma + 1;
            }
        }
        bool append = false;
        std::string append_filter;
        std::vector<const category*> parents;
        for (const std::string& o : options) {
            if (o == "!") cat.is_template = true;
            else if (!o.empty() && o.front() == '+') append = true, append_filter = trim(o.substr(1));
            else if (!o.empty()) {
                const category* parent = find_category(o, "");
                if (!parent)
                    return fail(at(after + 1), "inheritance requested, but category '" + o + "' does not exist");
                parents.push_back(parent);
            }
        }
        if (append) {
            category* existing = find_category(cat.name, append_filter);
            if (!existing)
                return fail(at(first), "category addition requested, but category '" + cat.name + "' does not exist");
            current_ = static_cast<std::size_t>(existing - cfg_.categories.data());
            have_current_ = true;
            return true;
        }
        for (const category* p : parents)
            for (const auto& v : p->vars) {
                if (++variables_ > limits_.max_variables)
                    return fail(cat.where, "more than " + std::to_string(limits_.max_variables) + " settings in the configuration");
                cat.vars.push_back(v);
            }
        cfg_.categories.push_back(std::move(cat));
        current_ = cfg_.categories.size() - 1;
        have_current_ = true;
        return true;
    }

    bool process_directive(const clean_line& line, std::size_t first, const std::string& path, std::uint32_t line_no,
                           unsigned depth) {
        const std::string& t = line.text;
        std::size_t i = first + 1;
        while (i < t.size() && !is_space(t[i])) ++i;
        const std::string name = t.substr(first + 1, i - first - 1);
        std::string arg = trim(std::string_view(t).substr(i));
        const source_location here{path, line_no, line.col_at(first)};
        const bool include = iequals(name, "include"), try_include = iequals(name, "tryinclude");
        if (!include && !try_include) {
            // #exec runs a program (only with execincludes on): its output is not ours to guess.
            cfg_.warnings.push_back(diagnostic{here, "directive '#" + name + "' ignored"});
            return true;
        }
        if (arg.size() >= 2 && ((arg.front() == '"' && arg.back() == '"') || (arg.front() == '<' && arg.back() == '>')))
            arg = trim(arg.substr(1, arg.size() - 2));
        if (arg.empty()) return fail(here, "directive '#" + name + "' needs a file name");
        if (depth + 1 > limits_.max_depth)
            return fail(here, "#include nested deeper than " + std::to_string(limits_.max_depth) + " levels (a loop?)");
        const std::string pattern = resolve_name(arg);
        std::vector<std::string> matches = fs_.glob ? fs_.glob(pattern) : std::vector<std::string>{};
        if (matches.empty()) {
            if (include) return fail(here, "the file '" + pattern + "' was listed as a #include but it does not exist");
            // A file created later is a change worth noticing.
            if (pattern.find_first_of("*?[{") == std::string::npos) note_file(pattern);
            return true;
        }
        for (const std::string& m : matches)
            if (!load_file(m, depth + 1, here, true)) return false;
        return true;
    }

    bool process_line(const clean_line& line, const std::string& path, std::uint32_t line_no, unsigned depth) {
        const std::string& t = line.text;
        std::size_t first = 0;
        while (first < t.size() && is_space(t[first])) ++first;
        if (first == t.size()) return true;
        const auto at = [&](std::size_t i) { return source_location{path, line_no, line.col_at(i)}; };
        if (t[first] == '[') return process_category(line, first, path, line_no);
        if (t[first] == '#') return process_directive(line, first, path, line_no, depth);
        const std::size_t eq = t.find('=', first);
        if (eq == std::string::npos) {
            // Asterisk warns and goes on.
            cfg_.warnings.push_back(diagnostic{at(first), "no '=' (equal sign) in the line: ignored"});
            return true;
        }
        if (!have_current_) return fail(at(first), "parse error: no category context for this line");
        const bool append = eq > first && t[eq - 1] == '+';
        std::size_t value_start = eq + 1;
        if (value_start < t.size() && t[value_start] == '>') ++value_start;  // `=>` is `=`
        variable v;
        v.name = trim(std::string_view(t).substr(first, (append ? eq - 1 : eq) - first));
        v.value = trim(std::string_view(t).substr(value_start));
        v.where = at(first);
        if (append) {
            auto& vars = cfg_.categories[current_].vars;
            for (auto it = vars.rbegin(); it != vars.rend(); ++it)
                if (iequals(it->name, v.name)) {
                    if (it->value.size() + v.value.size() > limits_.max_file_bytes)
                        return fail(v.where, "value grows past " + std::to_string(limits_.max_file_bytes) + " bytes");
                    it->value += v.value;
                    it->where = v.where;
                    return true;
                }
        }
        return add_variable(std::move(v));
    }

    std::string dir_;
    const config_fs& fs_;
    reader_limits limits_;
    config cfg_;
    std::vector<diagnostic> errors_;
    std::size_t current_ = 0;
    bool have_current_ = false;
    std::size_t files_read_ = 0;
    std::size_t variables_ = 0;
};

}  // namespace

bool iequals(const std::string& a, const std::string& b) noexcept {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

bool ast_true(const std::string& value) noexcept {
    for (const char* yes : {"yes", "true", "y", "t", "1", "on"})
        if (iequals(value, yes)) return true;
    return false;
}

config_fs real_config_fs() {
    config_fs fs;
    fs.read = [](const std::string& path, std::size_t max_bytes, bool& too_big) -> std::optional<std::string> {
        too_big = false;
        struct stat st {};
        if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;  // follows symlinks
        if (static_cast<std::size_t>(st.st_size) > max_bytes) {
            too_big = true;
            return std::nullopt;
        }
        std::ifstream in(path, std::ios::binary);
        if (!in) return std::nullopt;
        std::string text;
        text.resize(max_bytes + 1 < static_cast<std::size_t>(st.st_size) + 4096 ? max_bytes + 1
                                                                                 : static_cast<std::size_t>(st.st_size) + 4096);
        in.read(text.data(), static_cast<std::streamsize>(text.size()));
        text.resize(static_cast<std::size_t>(in.gcount()));
        if (text.size() > max_bytes) {  // grew while we read it
            too_big = true;
            return std::nullopt;
        }
        return text;
    };
    fs.glob = [](const std::string& pattern) {
        std::vector<std::string> out;
        glob_t g{};
        // As Asterisk: brace expansion, sorted results (glob's default order).
        if (::glob(pattern.c_str(), GLOB_BRACE, nullptr, &g) == 0)
            for (std::size_t i = 0; i < g.gl_pathc; ++i) {
                struct stat st {};
                if (::stat(g.gl_pathv[i], &st) == 0 && S_ISREG(st.st_mode)) out.emplace_back(g.gl_pathv[i]);
            }
        globfree(&g);
        return out;
    };
    fs.resolve = [](const std::string& path) {
        std::error_code ec;
        const auto p = std::filesystem::canonical(path, ec);
        return ec ? std::string() : p.string();
    };
    return fs;
}

read_result read_config(const std::string& dir, const std::string& file, const config_fs& fs,
                        const reader_limits& limits) {
    try {
        reader r(dir, fs, limits);
        return r.run(file);
    } catch (const std::bad_alloc&) {
        read_result out;
        try {
            out.errors.push_back(diagnostic{source_location{file, 0, 0}, "out of memory reading the configuration"});
        } catch (...) {
        }
        return out;
    } catch (const std::exception& e) {
        read_result out;
        try {
            out.errors.push_back(diagnostic{source_location{file, 0, 0}, std::string("cannot read: ") + e.what()});
        } catch (...) {
        }
        return out;
    }
}

}  // namespace pbxgate::asterisk
