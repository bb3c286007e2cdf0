#include "kernelset/ipset_backend.hpp"

#include <libipset/ipset.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <vector>

namespace pbxgate::kernelset {

namespace {

std::string vformat(const char* fmt, va_list args) {
    char buf[1024];
    std::vsnprintf(buf, sizeof buf, fmt, args);
    return buf;
}

// libipset's default handlers print to stderr and call exit(): ours keep the message.
int on_custom_error(struct ipset* handle, void* p, int /*status*/, const char* msg, ...) {
    va_list args;
    va_start(args, msg);
    std::string text = msg ? vformat(msg, args) : std::string("ipset error");
    va_end(args);
    static_cast<ipset_backend*>(p)->take_error(std::move(text));
    if (struct ipset_session* s = ipset_session(handle)) ipset_session_report_reset(s);
    return -1;
}

int on_standard_error(struct ipset* handle, void* p) {
    struct ipset_session* s = ipset_session(handle);
    if (ipset_session_report_type(s) == IPSET_ERROR)
        static_cast<ipset_backend*>(p)->take_error(ipset_session_report_msg(s));
    ipset_session_report_reset(s);
    return -1;
}

int on_output(struct ipset_session* /*session*/, void* p, const char* fmt, ...) {
    va_list args;
    va_start(args, fmt);
    va_list copy;
    va_copy(copy, args);
    const int n = std::vsnprintf(nullptr, 0, fmt, copy);
    va_end(copy);
    std::string text(n > 0 ? static_cast<std::size_t>(n) : 0, '\0');
    if (n > 0) std::vsnprintf(text.data(), text.size() + 1, fmt, args);
    va_end(args);
    static_cast<ipset_backend*>(p)->take_output(text.c_str());
    return 0;
}

std::string trimmed(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
}

bool parse_u64(std::string_view text, std::uint64_t& out) {
    if (text.empty()) return false;
    std::uint64_t v = 0;
    for (const char c : text) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    out = v;
    return true;
}

}  // namespace

bool parse_save_line(std::string_view line, entry& out) {
    std::vector<std::string_view> words;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\n' || line[i] == '\t')) ++i;
        const std::size_t start = i;
        while (i < line.size() && line[i] != ' ' && line[i] != '\n' && line[i] != '\t') ++i;
        if (i > start) words.push_back(line.substr(start, i - start));
    }
    if (words.size() < 3 || words[0] != "add") return false;
    const auto prefix = parse_prefix(words[2]);
    if (!prefix) return false;
    entry e;
    e.prefix = *prefix;
    for (std::size_t k = 3; k + 1 < words.size(); k += 2) {
        std::uint64_t v = 0;
        if (!parse_u64(words[k + 1], v)) continue;
        if (words[k] == "timeout") e.timeout_s = static_cast<std::uint32_t>(v);
        else if (words[k] == "packets") e.packets = v;
        else if (words[k] == "bytes") e.bytes = v;
    }
    out = e;
    return true;
}

ipset_backend::ipset_backend() {
    static std::once_flag types_loaded;
    std::call_once(types_loaded, [] { ipset_load_types(); });
    open();
}

void ipset_backend::open() {
    if (handle_) ipset_fini(handle_);
    handle_ = ipset_init();
    if (!handle_) return;
    ipset_custom_printf(handle_, on_custom_error, on_standard_error, on_output, this);
    // Exist: creating an existing set, adding a present member (its timeout is set anew)
    // and removing an absent one all succeed.
    ipset_envopt_set(ipset_session(handle_), IPSET_ENV_EXIST);
}

ipset_backend::~ipset_backend() {
    if (handle_) ipset_fini(handle_);
}

void ipset_backend::take_error(std::string message) {
    if (error_.empty()) error_ = trimmed(std::move(message));
}

void ipset_backend::take_output(const char* text) { output_ += text; }

outcome ipset_backend::run(const std::string& line) {
    if (!handle_) return {status::failed, "ipset: cannot start a libipset session (out of memory?)"};
    error_.clear();
    output_.clear();
    std::vector<char> buf(line.begin(), line.end());
    buf.push_back('\0');
    const int r = ipset_parse_line(handle_, buf.data());
    if (r >= 0 && error_.empty()) return outcome::success();
    // A session that reported an error answers the next command with "Internal protocol
    // error": start a fresh one.
    open();
    std::string why = error_.empty() ? "ipset command failed" : error_;
    if (why.find("does not exist") != std::string::npos) return {status::absent, "ipset `" + line + "`: " + why};
    if (why.find("Cannot open session") != std::string::npos || why.find("protocol") != std::string::npos ||
        why.find("Kernel error") != std::string::npos || why.find("not permitted") != std::string::npos)
        why += " (is the ip_set kernel module available, and does pbxgate have CAP_NET_ADMIN?)";
    return {status::failed, "ipset `" + line + "`: " + why};
}

outcome ipset_backend::create(const set_spec& spec) {
    std::string line = "create " + spec.name + " hash:net family " + (spec.family == ip_family::v4 ? "inet" : "inet6");
    if (spec.timeouts) line += " timeout 0";
    if (spec.counters) line += " counters";
    if (spec.max_elements > 0) line += " maxelem " + std::to_string(spec.max_elements);
    return run(line);
}

outcome ipset_backend::destroy(std::string_view name) { return run("destroy " + std::string(name)); }

outcome ipset_backend::swap(std::string_view a, std::string_view b) {
    return run("swap " + std::string(a) + " " + std::string(b));
}

outcome ipset_backend::add(std::string_view set, const ip_prefix& member, std::uint32_t timeout_s) {
    std::string line = "add " + std::string(set) + " " + to_string(member);
    if (timeout_s > 0) line += " timeout " + std::to_string(std::min(timeout_s, max_timeout_s));
    return run(line);
}

outcome ipset_backend::remove(std::string_view set, const ip_prefix& member) {
    return run("del " + std::string(set) + " " + to_string(member));
}

outcome ipset_backend::list(std::string_view set, std::vector<entry>& out) {
    out.clear();
    outcome o = run("list " + std::string(set) + " -output save");
    if (!o.ok()) return o;
    std::string_view text = output_;
    while (!text.empty()) {
        const auto nl = text.find('\n');
        const std::string_view line = text.substr(0, nl);
        entry e;
        if (parse_save_line(line, e)) out.push_back(e);
        if (nl == std::string_view::npos) break;
        text.remove_prefix(nl + 1);
    }
    return o;
}

}  // namespace pbxgate::kernelset
