// Each block below follows one Asterisk module's reading of its file; the comments name
// the rule and where it lives in the Asterisk source (see also the corpus README under
// tests/data/asterisk-configs/ for the defaults and their place in the source).
#include "asterisk/port_mapping.hpp"

#include <algorithm>
#include <cctype>
#include <new>
#include <optional>
#include <set>

namespace pbxgate::asterisk {

namespace {

// `host`, `host:port`, `[v6]`, `[v6]:port`, bare IPv6 (two or more ':' and no brackets:
// no port, as ast_sockaddr_split_hostport and pj_sockaddr_parse read it).
struct host_port {
    std::string host;
    std::optional<std::uint16_t> port;
    bool bad = false;  // unparseable: the module refuses the address
};

std::optional<std::uint16_t> parse_port_number(const std::string& s, unsigned min = 1) {
    if (s.empty() || s.size() > 5) return std::nullopt;
    unsigned v = 0;
    for (const char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + static_cast<unsigned>(c - '0');
    }
    if (v < min || v > 65535) return std::nullopt;
    return static_cast<std::uint16_t>(v);
}

host_port split_host_port(const std::string& value) {
    host_port hp;
    if (!value.empty() && value.front() == '[') {
        const auto close = value.find(']');
        if (close == std::string::npos) {
            hp.bad = true;
            return hp;
        }
        hp.host = value.substr(1, close - 1);
        const std::string rest = value.substr(close + 1);
        if (rest.empty()) return hp;
        if (rest.front() != ':') {
            hp.bad = true;
            return hp;
        }
        hp.port = parse_port_number(rest.substr(1));
        hp.bad = !hp.port;
        return hp;
    }
    const auto colons = std::count(value.begin(), value.end(), ':');
    if (colons != 1) {
        hp.host = value;
        return hp;
    }
    const auto colon = value.find(':');
    hp.host = value.substr(0, colon);
    hp.port = parse_port_number(value.substr(colon + 1));
    hp.bad = !hp.port;
    return hp;
}

// C's atoi(): leading blanks, a sign, digits; anything else ends the number (0 if none).
long atoi_like(const std::string& s) {
    std::size_t i = 0;
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    bool neg = false;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
    long v = 0;
    for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i)
        if (v < 1000000) v = v * 10 + (s[i] - '0');
    return neg ? -v : v;
}

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

std::string module_key(std::string name) {
    name = lower(name);
    if (name.size() > 3 && name.compare(name.size() - 3, 3, ".so") == 0) name.resize(name.size() - 3);
    return name;
}

const category* first_named(const config& c, const char* name) {
    for (const auto& cat : c.categories)
        if (!cat.is_template && iequals(cat.name, name)) return &cat;
    return nullptr;
}

const variable* last_var(const category& cat, const char* name) {
    const variable* found = nullptr;
    for (const auto& v : cat.vars)
        if (iequals(v.name, name)) found = &v;
    return found;
}

class importer {
public:
    importer(const std::string& dir, const config_fs& fs, const reader_limits& limits)
        : dir_(dir), fs_(fs), limits_(limits) {}

    import_result run() {
        out_.services = imported_service_names();
        read_modules();
        pjsip();
        chan_sip();
        rtp();
        udptl();
        iax();
        http();
        return std::move(out_);
    }

private:
    std::string path_of(const char* file) const { return dir_.empty() || dir_.back() == '/' ? dir_ + file : dir_ + "/" + file; }

    bool exists(const char* file) const { return fs_.glob && !fs_.glob(path_of(file)).empty(); }

    // A file the module reads; nullopt when it is absent (noted for watching) or broken
    // (its errors go to out_.errors: the whole import then stands still).
    std::optional<config> load(const char* file) {
        if (!exists(file)) {
            out_.files.push_back(path_of(file));
            return std::nullopt;
        }
        read_result r = read_config(dir_, file, fs_, limits_);
        if (!r.ok()) {
            for (auto& e : r.errors) out_.errors.push_back(std::move(e));
            out_.files.push_back(path_of(file));
            return std::nullopt;
        }
        for (auto& f : r.value->files) out_.files.push_back(f);
        for (auto& w : r.value->warnings) out_.notes.push_back(std::move(w));
        return std::move(*r.value);
    }

    void note(source_location where, std::string message) { out_.notes.push_back({std::move(where), std::move(message)}); }

    void add(const char* service, proto_mask proto, std::uint16_t first, std::uint16_t last, source_location where,
             std::string why) {
        for (const auto& p : out_.ports)
            if (p.service == service && p.proto == proto && p.ports.first == first && p.ports.last == last) return;
        out_.ports.push_back(imported_port{service, proto, {first, last}, std::move(where), std::move(why)});
    }

    // modules.conf: `noload` wins over `load`; without `autoload = yes` only what is
    // loaded explicitly runs (main/loader.c). A directory without modules.conf is read as
    // autoload: Asterisk itself would load nothing at all, but such a directory is a
    // partial copy, and the module files present are the better hint.
    void read_modules() {
        if (!exists("modules.conf")) return;
        auto cfg = load("modules.conf");
        if (!cfg) return;
        have_modules_ = true;
        const category* mods = first_named(*cfg, "modules");
        if (!mods) return;
        for (const auto& v : mods->vars) {
            const std::string key = lower(v.name);
            if (key == "autoload") autoload_ = ast_true(v.value);
            else if (key == "noload") noload_.insert(module_key(v.value));
            else if (key == "load" || key == "preload" || key == "require" || key == "preload-require")
                load_.insert(module_key(v.value));
        }
    }

    bool loaded(const char* module) const {
        if (!have_modules_) return true;
        const std::string key = module_key(module);
        if (noload_.count(key)) return false;
        return load_.count(key) || autoload_;
    }

    // res_pjsip: every object whose `type` is transport (res_pjsip/config_transport.c).
    void pjsip() {
        if (!loaded("res_pjsip")) {
            note({path_of("modules.conf"), 0, 0}, "res_pjsip is not loaded: no PJSIP transport");
            return;
        }
        auto cfg = load("pjsip.conf");
        if (!cfg) return;
        std::vector<const category*> transports;
        for (const auto& cat : cfg->categories) {
            if (cat.is_template) continue;
            const variable* type = last_var(cat, "type");
            if (!type || !iequals(type->value, "transport")) continue;
            // res_sorcery_config.c: a duplicate object invalidates every object of the type.
            for (const category* seen : transports)
                if (seen->name == cat.name) {
                    out_.errors.push_back({cat.where, "transport '" + cat.name + "' is defined twice (first at " +
                                                          seen->where.file + ":" + std::to_string(seen->where.line) +
                                                          "): Asterisk loads no transport at all from this pjsip.conf"});
                    return;
                }
            transports.push_back(&cat);
        }
        for (const category* t : transports) {
            const variable* proto_var = last_var(*t, "protocol");
            const std::string proto = proto_var ? lower(proto_var->value) : "udp";
            const std::string what = "pjsip transport " + t->name;
            if (proto == "ws" || proto == "wss") {
                note(t->where, what + ": " + proto + " rides on the HTTP server (http.conf), no socket of its own");
                continue;
            }
            if (proto == "flow") continue;  // binds nothing
            if (proto != "udp" && proto != "tcp" && proto != "tls") {
                note(proto_var->where, what + ": unknown protocol '" + proto_var->value + "': Asterisk refuses it");
                continue;
            }
            const variable* bind = last_var(*t, "bind");
            if (!bind || bind->value.empty()) {
                note(t->where, what + ": no bind: Asterisk does not start it");
                continue;
            }
            const host_port hp = split_host_port(bind->value);
            if (hp.bad || hp.host.empty()) {
                note(bind->where, what + ": bind '" + bind->value + "' does not parse: Asterisk refuses it");
                continue;
            }
            const bool tls = proto == "tls";
            const std::uint16_t port = hp.port ? *hp.port : (tls ? 5061 : 5060);
            add(tls ? "sip-tls" : "sip", proto == "udp" ? proto_mask::udp : proto_mask::tcp, port, port, bind->where,
                what + " (" + proto + ", bind " + bind->value + ")");
        }
    }

    // chan_sip (Asterisk <= 20) [general]: bindport overrides a port in bindaddr; TCP on
    // tcpbindaddr or the UDP address; TLS on tlsbindaddr or 5061 (channels/chan_sip.c).
    void chan_sip() {
        if (!loaded("chan_sip")) return;
        if (!exists("sip.conf")) return;  // chan_sip declines to load without it
        auto cfg = load("sip.conf");
        if (!cfg) return;
        const category* general = first_named(*cfg, "general");
        if (!general) return;
        std::optional<host_port> udp, tcp_addr, tls_addr;
        const variable *udp_at = nullptr, *tcp_at = nullptr, *tls_at = nullptr, *port_at = nullptr;
        const variable *tcp_on = nullptr, *tls_on = nullptr;
        std::optional<std::uint16_t> bindport;
        for (const auto& v : general->vars) {
            const std::string key = lower(v.name);
            if (key == "bindaddr" || key == "udpbindaddr") {
                const host_port hp = split_host_port(v.value);
                if (hp.bad) note(v.where, "chan_sip: invalid " + key + " '" + v.value + "': ignored");
                else udp = hp, udp_at = &v;
            } else if (key == "bindport") {
                bindport = parse_port_number(trim_copy(v.value));
                if (!bindport) note(v.where, "chan_sip: invalid bindport '" + v.value + "': ignored");
                else port_at = &v;
            } else if (key == "tcpenable") {
                tcp_on = ast_false(v.value) ? nullptr : &v;
            } else if (key == "tcpbindaddr") {
                const host_port hp = split_host_port(v.value);
                if (!hp.bad) tcp_addr = hp, tcp_at = &v;
            } else if (key == "tlsenable" || key == "sslenable") {
                tls_on = ast_true(v.value) ? &v : nullptr;
            } else if (key == "tlsbindaddr" || key == "sslbindaddr") {
                const host_port hp = split_host_port(v.value);
                if (!hp.bad) tls_addr = hp, tls_at = &v;
            }
        }
        const std::uint16_t udp_port = bindport ? *bindport : (udp && udp->port ? *udp->port : 5060);
        const source_location udp_where = port_at ? port_at->where : udp_at ? udp_at->where : general->where;
        add("sip", proto_mask::udp, udp_port, udp_port, udp_where, "chan_sip [general] UDP");
        if (tcp_on) {
            const std::uint16_t p = tcp_addr ? (tcp_addr->port ? *tcp_addr->port : 5060) : udp_port;
            add("sip", proto_mask::tcp, p, p, tcp_at ? tcp_at->where : tcp_on->where, "chan_sip [general] TCP");
        }
        if (tls_on) {
            const std::uint16_t p = tls_addr && tls_addr->port ? *tls_addr->port : 5061;
            add("sip-tls", proto_mask::tcp, p, p, tls_at ? tls_at->where : tls_on->where, "chan_sip [general] TLS");
        }
    }

    // res_rtp_asterisk: rtpstart/rtpend from the first [general] (ast_variable_retrieve:
    // the last value there wins), clamped to 1024-65535, odd start rounded up, start >=
    // end falls back to 5000-31000. RTCP is the RTP port + 1: the range ends at rtpend + 1.
    void rtp() {
        if (!loaded("res_rtp_asterisk")) {
            note({path_of("modules.conf"), 0, 0}, "res_rtp_asterisk is not loaded: no RTP range");
            return;
        }
        long start = 5000, end = 31000;
        source_location where{path_of("rtp.conf"), 0, 0};
        std::string why = "Asterisk's default RTP range (no rtp.conf)";
        if (exists("rtp.conf")) {
            auto cfg = load("rtp.conf");
            if (!cfg) return;
            why = "rtp.conf, Asterisk's default RTP range (no rtpstart/rtpend)";
            if (const category* general = first_named(*cfg, "general")) {
                const variable* s = last_var(*general, "rtpstart");
                const variable* e = last_var(*general, "rtpend");
                if (s) start = std::clamp(atoi_like(s->value), 1024L, 65535L);
                if (e) end = std::clamp(atoi_like(e->value), 1024L, 65535L);
                if (s || e) {
                    where = s ? s->where : e->where;
                    why = "rtp.conf rtpstart/rtpend";
                    if (s && e) why += " (rtpend at line " + std::to_string(e->where.line) + " of " + e->where.file + ")";
                }
                if (start % 2 != 0) {
                    note(where, "rtpstart " + std::to_string(start) + " is odd: Asterisk rounds it up");
                    ++start;
                }
                if (start >= end) {
                    note(where, "rtpstart >= rtpend: Asterisk falls back to 5000-31000");
                    start = 5000, end = 31000;
                }
            }
        }
        add("rtp", proto_mask::udp, static_cast<std::uint16_t>(start), static_cast<std::uint16_t>(std::min(end + 1, 65535L)),
            where, why + ", RTCP on port + 1");
    }

    // main/udptl.c (config options framework): every [general] in turn, so the last value
    // wins; out-of-range values and start >= end fall back to 4000-4999.
    void udptl() {
        long start = 4000, end = 4999;
        source_location where{path_of("udptl.conf"), 0, 0};
        std::string why = "Asterisk's default UDPTL range";
        if (exists("udptl.conf")) {
            auto cfg = load("udptl.conf");
            if (!cfg) return;
            for (const auto& cat : cfg->categories) {
                if (cat.is_template || !iequals(cat.name, "general")) continue;
                for (const auto& v : cat.vars) {
                    const bool is_start = iequals(v.name, "udptlstart");
                    if (!is_start && !iequals(v.name, "udptlend")) continue;
                    const auto port = parse_port_number(trim_copy(v.value), 1024);
                    if (!port) {
                        note(v.where, v.name + " '" + v.value + "' out of 1024-65535: Asterisk uses its default");
                        (is_start ? start : end) = is_start ? 4000 : 4999;
                    } else {
                        (is_start ? start : end) = *port;
                    }
                    if (is_start || where.line == 0) where = v.where;
                    why = "udptl.conf udptlstart/udptlend";
                }
            }
            if (start >= end) {
                note(where, "udptlstart >= udptlend: Asterisk falls back to 4000-4999");
                start = 4000, end = 4999;
            }
        }
        add("udptl", proto_mask::udp, static_cast<std::uint16_t>(start), static_cast<std::uint16_t>(end), where, why);
    }

    // chan_iax2 [general]: bindport applies to the bindaddr lines after it; each bindaddr
    // opens a socket (its own :port wins); none at all: 0.0.0.0:bindport (chan_iax2.c).
    void iax() {
        if (!loaded("chan_iax2")) return;
        if (!exists("iax.conf")) return;  // chan_iax2 declines to load without it
        auto cfg = load("iax.conf");
        if (!cfg) return;
        const category* general = first_named(*cfg, "general");
        std::uint16_t port = 4569;
        source_location port_where = general ? general->where : source_location{path_of("iax.conf"), 0, 0};
        bool bound = false;
        if (general)
            for (const auto& v : general->vars) {
                if (iequals(v.name, "bindport")) {
                    const auto p = parse_port_number(trim_copy(v.value), 1024);
                    if (!p) note(v.where, "iax bindport '" + v.value + "' out of 1024-65535: Asterisk uses 4569");
                    port = p ? *p : 4569;
                    port_where = v.where;
                } else if (iequals(v.name, "bindaddr")) {
                    const host_port hp = split_host_port(v.value);
                    if (hp.bad || hp.host.empty()) {
                        note(v.where, "iax bindaddr '" + v.value + "' does not parse: Asterisk skips it");
                        continue;
                    }
                    bound = true;
                    const std::uint16_t p = hp.port ? *hp.port : port;
                    add("iax", proto_mask::udp, p, p, hp.port ? v.where : port_where,
                        "chan_iax2 bindaddr " + v.value + (hp.port ? "" : " (port from the bindport before it)"));
                }
            }
        if (!bound) add("iax", proto_mask::udp, port, port, port_where, "chan_iax2 default bind 0.0.0.0");
    }

    // main/http.c: the server runs when enabled and bindaddr is set (a :port in bindaddr
    // beats bindport, default 8088); TLS when tlsenable and tlsbindaddr is set (default
    // port 8089) or the plain server runs (its address, port 8089).
    void http() {
        if (!exists("http.conf")) {
            out_.files.push_back(path_of("http.conf"));
            return;
        }
        auto cfg = load("http.conf");
        if (!cfg) return;
        const category* general = first_named(*cfg, "general");
        if (!general) return;
        bool enabled = false, tls = false;
        std::optional<host_port> addr, tls_addr;
        const variable *addr_at = nullptr, *port_at = nullptr, *tls_at = nullptr, *tls_on = nullptr;
        std::uint16_t port = 8088;
        for (const auto& v : general->vars) {
            const std::string key = lower(v.name);
            if (key == "enabled") enabled = ast_true(v.value);
            else if (key == "bindaddr") {
                const host_port hp = split_host_port(v.value);
                if (hp.bad) note(v.where, "http bindaddr '" + v.value + "' does not parse");
                else addr = hp, addr_at = &v;
            } else if (key == "bindport") {
                const auto p = parse_port_number(trim_copy(v.value));
                if (!p) note(v.where, "http bindport '" + v.value + "' is not a port: ignored");
                else port = *p, port_at = &v;
            } else if (key == "tlsenable" || key == "sslenable") {
                tls = ast_true(v.value);
                tls_on = &v;
            } else if (key == "tlsbindaddr" || key == "sslbindaddr") {
                const host_port hp = split_host_port(v.value);
                if (hp.bad) note(v.where, "http " + key + " '" + v.value + "' does not parse");
                else tls_addr = hp, tls_at = &v;
            }
        }
        const bool plain = enabled && addr && !addr->host.empty();
        if (plain) {
            const std::uint16_t p = addr->port ? *addr->port : port;
            add("webrtc", proto_mask::tcp, p, p, addr->port || !port_at ? addr_at->where : port_at->where,
                "http.conf HTTP server (WebSocket ws)");
        }
        if (tls && (tls_addr || plain)) {
            const std::uint16_t p = tls_addr && tls_addr->port ? *tls_addr->port : 8089;
            add("webrtc-tls", proto_mask::tcp, p, p, tls_at ? tls_at->where : tls_on->where,
                "http.conf HTTPS server (WebSocket wss)");
        }
    }

    static std::string trim_copy(const std::string& s) {
        std::size_t b = 0, e = s.size();
        while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
        while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
        return s.substr(b, e - b);
    }
    static bool ast_false(const std::string& v) {
        for (const char* no : {"no", "false", "n", "f", "0", "off"})
            if (iequals(v, no)) return true;
        return false;
    }

    std::string dir_;
    const config_fs& fs_;
    reader_limits limits_;
    import_result out_;
    bool have_modules_ = false;
    bool autoload_ = true;
    std::set<std::string> load_, noload_;
};

}  // namespace

const std::vector<std::string>& imported_service_names() {
    static const std::vector<std::string> names{"sip", "sip-tls", "rtp", "udptl", "iax", "webrtc", "webrtc-tls"};
    return names;
}

import_result import_ports(const std::string& config_dir, const config_fs& fs, const reader_limits& limits) {
    try {
        importer i(config_dir, fs, limits);
        import_result r = i.run();
        // Each file once (the watcher and the policy's file list want a set).
        std::vector<std::string> unique;
        for (auto& f : r.files)
            if (std::find(unique.begin(), unique.end(), f) == unique.end()) unique.push_back(std::move(f));
        r.files = std::move(unique);
        return r;
    } catch (const std::bad_alloc&) {
        import_result r;
        try {
            r.errors.push_back({{config_dir, 0, 0}, "out of memory importing the Asterisk configuration"});
        } catch (...) {
        }
        return r;
    }
}

std::string source_text(const source_location& where) {
    return where.line == 0 ? where.file + " (default)" : where.file + ":" + std::to_string(where.line);
}

std::string describe(const imported_port& p) {
    std::string out = std::to_string(p.ports.first);
    if (p.ports.last != p.ports.first) out += "-" + std::to_string(p.ports.last);
    return out + "/" + (p.proto == proto_mask::tcp ? "tcp" : p.proto == proto_mask::udp ? "udp" : "tcp+udp");
}

}  // namespace pbxgate::asterisk
