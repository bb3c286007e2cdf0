#include <catch2/catch.hpp>

#include <stdexcept>

#include "test_policy_support.hpp"

using namespace pbxgate;
using namespace pbxgate::test;

namespace {

// A complete service, for rows that need a valid neighbour.
const std::string sip = "[services.sip]\nproto = \"udp\"\nports = [5060]\nallow = [\"lan\"]\n";
const std::string sip_without_allow = "[services.sip]\nproto = \"udp\"\nports = [5060]\n";

struct error_row {
    const char* kind;
    file_map files;
    std::string top;
    std::string prefix;  // exact "FILE:LINE:COL: error: " (or "FILE: error: ")
    std::string part;    // a substring of the message
};

}  // namespace

TEST_CASE("each kind of broken policy gets one located, explained error", "[policy]") {
    const error_row rows[] = {
        {"unknown top-level key", {{"p.toml", "extend = \"b.toml\"\n"}}, "p.toml", "p.toml:1:1: error: ",
         "unknown key 'extend' in the top level (did you mean 'extends'?); known keys: extends, zones, services, engine"},
        {"unknown service key", {{"p.toml", sip + "prots = [1]\n"}}, "p.toml", "p.toml:5:1: error: ",
         "unknown key 'prots' in [services.sip] (did you mean 'proto'?); known keys: proto, ports, allow"},
        {"unknown engine key", {{"p.toml", "[engine]\nmodes = \"monitor\"\n"}}, "p.toml", "p.toml:2:1: error: ",
         "unknown key 'modes' in [engine] (did you mean 'mode'?)"},
        {"unknown zones key", {{"p.toml", "[zones]\nwan = []\n"}}, "p.toml", "p.toml:2:1: error: ",
         "known keys: lan, trusted, blocked"},
        {"proto of the wrong type", {{"p.toml", "[services.sip]\nproto = 17\nports = [5060]\n"}}, "p.toml",
         "p.toml:2:9: error: ", "`proto` of [services.sip] must be one of \"tcp\", \"udp\", \"tcp+udp\", not an integer"},
        {"unknown proto", {{"p.toml", "[services.sip]\nproto = \"sctp\"\nports = [5060]\n"}}, "p.toml",
         "p.toml:2:9: error: ", "not \"sctp\""},
        {"ports of the wrong type", {{"p.toml", "[services.sip]\nproto = \"udp\"\nports = 5060\n"}}, "p.toml",
         "p.toml:3:9: error: ", "`ports` of [services.sip] must be an array"},
        {"port entry of the wrong type", {{"p.toml", "[services.sip]\nproto = \"udp\"\nports = [5060.5]\n"}},
         "p.toml", "p.toml:3:10: error: ", "must be a port number or a \"LO-HI\" string, not a float"},
        {"enabled of the wrong type", {{"p.toml", sip + "enabled = \"yes\"\n"}}, "p.toml", "p.toml:5:11: error: ",
         "`enabled` of [services.sip] must be true or false, not a string"},
        {"zone list of the wrong type", {{"p.toml", "[zones]\nlan = \"10.0.0.0/8\"\n"}}, "p.toml",
         "p.toml:2:7: error: ", "zones.lan must be an array of CIDR strings"},
        {"services not a table", {{"p.toml", "services = 3\n"}}, "p.toml", "p.toml:1:12: error: ",
         "[services] must be a table, not an integer"},
        {"a service not a table", {{"p.toml", "[services]\nsip = \"udp\"\n"}}, "p.toml", "p.toml:2:7: error: ",
         "[services.sip] must be a table, not a string"},
        {"invalid service name", {{"p.toml", "[services.SIP]\nproto = \"udp\"\nports = [5060]\n"}}, "p.toml",
         "p.toml:1:11: error: ", "service name 'SIP' is invalid"},
        {"service name too long", {{"p.toml", "[services.a23456789012345678901234567890123]\n"}}, "p.toml",
         "p.toml:1:11: error: ", "at most 32 characters"},
        {"bad CIDR", {{"p.toml", "[zones]\nlan = [\"10.0.0.0/33\"]\n"}}, "p.toml", "p.toml:2:8: error: ",
         "bad prefix in zones.lan: prefix length '33' is not a number from 0 to 32"},
        {"not an address", {{"p.toml", "[zones]\nblocked = [\"bad.example\"]\n"}}, "p.toml", "p.toml:2:12: error: ",
         "'bad.example' is not an IPv4 or IPv6 address"},
        {"CIDR with host bits set", {{"p.toml", "[zones]\ntrusted = [\"192.0.2.1/24\"]\n"}}, "p.toml",
         "p.toml:2:12: error: ", "has host bits set; the network is 192.0.2.0/24"},
        {"IPv6 CIDR with host bits set", {{"p.toml", "[engine]\nprotected = [\"2001:db8::1/64\"]\n"}}, "p.toml",
         "p.toml:2:14: error: ", "bad prefix in engine.protected: '2001:db8::1/64' has host bits set"},
        {"port 0", {{"p.toml", "[services.sip]\nproto = \"udp\"\nports = [0]\n"}}, "p.toml", "p.toml:3:10: error: ",
         "port 0 in `ports` of [services.sip] is out of range: ports are 1 to 65535"},
        {"port above 65535", {{"p.toml", "[services.sip]\nproto = \"udp\"\nports = [5060, 70000]\n"}}, "p.toml",
         "p.toml:3:16: error: ", "port 70000 in `ports` of [services.sip] is out of range"},
        {"range end above 65535", {{"p.toml", "[services.rtp]\nproto = \"udp\"\nports = [\"10000-65536\"]\n"}},
         "p.toml", "p.toml:3:10: error: ", "port 65536 in `ports` of [services.rtp] is out of range"},
        {"inverted range", {{"p.toml", "[services.rtp]\nproto = \"udp\"\nports = [\"20000-10000\"]\n"}}, "p.toml",
         "p.toml:3:10: error: ", "port range \"20000-10000\" in `ports` of [services.rtp] is inverted: write \"10000-20000\""},
        {"malformed range", {{"p.toml", "[services.rtp]\nproto = \"udp\"\nports = [\"10000:20000\"]\n"}}, "p.toml",
         "p.toml:3:10: error: ", "malformed port range \"10000:20000\""},
        {"range with an empty end", {{"p.toml", "[services.rtp]\nproto = \"udp\"\nports = [\"10000-\"]\n"}}, "p.toml",
         "p.toml:3:10: error: ", "malformed port range \"10000-\""},
        {"range with a sign", {{"p.toml", "[services.rtp]\nproto = \"udp\"\nports = [\"+5\"]\n"}}, "p.toml",
         "p.toml:3:10: error: ", "write \"N\" or \"LO-HI\""},
        {"empty ports on an enabled service", {{"p.toml", "[services.sip]\nproto = \"udp\"\nports = []\n"}}, "p.toml",
         "p.toml:3:9: error: ", "service 'sip' is enabled but its `ports` is empty"},
        {"unknown zone in allow", {{"p.toml", sip_without_allow + "allow = [\"lan\", \"wan\"]\n"}}, "p.toml", "p.toml:4:17: error: ",
         "unknown zone 'wan' in `allow` of [services.sip]; allowable zones are internet, lan, trusted, localhost"},
        {"blocked in allow", {{"p.toml", sip_without_allow + "allow = [\"blocked\"]\n"}}, "p.toml", "p.toml:4:10: error: ",
         "'blocked' cannot be allowed in `allow` of [services.sip]: it is a deny list"},
        {"unknown zone in icmp_echo", {{"p.toml", "[engine]\nicmp_echo = [\"lan\", \"dmz\"]\n"}}, "p.toml",
         "p.toml:2:21: error: ", "unknown zone 'dmz' in engine.icmp_echo"},
        {"service missing proto", {{"p.toml", sip + "[services.pager]\nports = [7000]\n"}}, "p.toml",
         "p.toml:5:1: error: ", "service 'pager' has no `proto`"},
        {"service missing ports", {{"p.toml", sip + "[services.pager]\nproto = \"tcp\"\n"}}, "p.toml",
         "p.toml:5:1: error: ", "service 'pager' has no `ports`"},
        {"disabling a misspelt service", {{"p.toml", sip + "[services.iaxx]\nenabled = false\n"}}, "p.toml",
         "p.toml:5:1: error: ", "service 'iaxx' has neither `proto` nor `ports`: no file defines a service of this name (misspelt?)"},
        {"two services on one port",
         {{"p.toml", sip + "[services.pager]\nproto = \"tcp+udp\"\nports = [5000, \"5055-5070\"]\n"}}, "p.toml",
         "p.toml:7:9: error: ",
         "ports of service 'pager' overlap service 'sip' (ports at p.toml:3:9) on 5060/udp: a port belongs to one service"},
        {"overlapping ranges reported as ranges",
         {{"p.toml", "[services.rtp]\nproto = \"udp\"\nports = [\"10000-20000\"]\n"
                     "[services.media]\nproto = \"udp\"\nports = [\"19000-21000\", 9000, 10000]\n"}},
         "p.toml", "p.toml:6:9: error: ", "overlap service 'rtp' (ports at p.toml:3:9) on 10000, 19000-20000/udp"},
        {"extends cycle",
         {{"a.toml", "extends = \"b.toml\"\n"}, {"b.toml", "extends = \"a.toml\"\n"}}, "a.toml", "b.toml:1:1: error: ",
         "`extends` cycle: a.toml -> b.toml -> a.toml"},
        {"a file extending itself", {{"a.toml", "extends = \"./a.toml\"\n"}}, "a.toml", "a.toml:1:1: error: ",
         "`extends` cycle: a.toml -> a.toml"},
        {"missing extended file", {{"site/a.toml", "\n\nextends = \"../nope.toml\"\n"}}, "site/a.toml",
         "site/a.toml:3:1: error: ", "cannot read 'nope.toml', named by `extends`: missing or unreadable"},
        {"missing top file", {}, "conf/site.toml", "conf/site.toml: error: ", "cannot read conf/site.toml"},
        {"extends of the wrong type", {{"p.toml", "extends = [\"b.toml\"]\n"}}, "p.toml", "p.toml:1:11: error: ",
         "`extends` must be a string, not an array"},
        {"router placement without protected", {{"p.toml", "[engine]\nplacement = \"router\"\n"}}, "p.toml",
         "p.toml:2:1: error: ", "placement = \"router\" needs engine.protected"},
        {"engine integer out of range", {{"p.toml", "[engine]\nqueue_maxlen = 0\n"}}, "p.toml",
         "p.toml:2:16: error: ", "engine.queue_maxlen is 0: it must be from 1 to 1048576"},
        {"engine integer of the wrong type", {{"p.toml", "[engine]\ncopy_range = \"512\"\n"}}, "p.toml",
         "p.toml:2:14: error: ", "engine.copy_range must be an integer from 128 to 65535, not a string"},
        {"engine choice", {{"p.toml", "[engine]\nlog_level = \"verbose\"\n"}}, "p.toml", "p.toml:2:13: error: ",
         "engine.log_level must be one of \"trace\", \"debug\", \"info\", \"warn\", \"error\", \"critical\", \"off\""},
        {"metrics without a port", {{"p.toml", "[engine]\nmetrics = \"127.0.0.1\"\n"}}, "p.toml",
         "p.toml:2:11: error: ", "engine.metrics: '127.0.0.1' has no ':PORT'"},
        {"metrics with a host name", {{"p.toml", "[engine]\nmetrics = \"localhost:9477\"\n"}}, "p.toml",
         "p.toml:2:11: error: ", "is not a numeric IPv4 address"},
        {"metrics IPv6 without brackets", {{"p.toml", "[engine]\nmetrics = \"::1:9477\"\n"}}, "p.toml",
         "p.toml:2:11: error: ", "is an IPv6 address without brackets"},
        {"metrics port out of range", {{"p.toml", "[engine]\nmetrics = \"[::1]:70000\"\n"}}, "p.toml",
         "p.toml:2:11: error: ", "has no port number 0-65535"},
        {"metrics of the wrong type", {{"p.toml", "[engine]\nmetrics = 9477\n"}}, "p.toml", "p.toml:2:11: error: ",
         "engine.metrics must be a string"},
        {"drop_log_per_reason unknown reason", {{"p.toml", "[engine]\ndrop_log_per_reason = { zone_denied = 5 }\n"}},
         "p.toml", "p.toml:2:25: error: ",
         "engine.drop_log_per_reason: unknown reason 'zone_denied' (reasons: allowed, icmp_allowed,"},
        {"drop_log_per_reason out of range", {{"p.toml", "[engine.drop_log_per_reason]\nblocked = -1\n"}}, "p.toml",
         "p.toml:2:11: error: ", "engine.drop_log_per_reason.blocked is -1: it must be from 0 to 1000000"},
        {"drop_log_per_reason not a table", {{"p.toml", "[engine]\ndrop_log_per_reason = 5\n"}}, "p.toml",
         "p.toml:2:23: error: ", "engine.drop_log_per_reason must be a table of reason = lines per second, not an integer"},
        {"log format", {{"p.toml", "[engine]\nlog_format = \"xml\"\n"}}, "p.toml", "p.toml:2:14: error: ",
         "engine.log_format must be one of \"text\", \"json\", not \"xml\""},
        {"engine verdict", {{"p.toml", "[engine]\ndefault_verdict = \"reject\"\n"}}, "p.toml",
         "p.toml:2:19: error: ", "engine.default_verdict must be one of \"accept\", \"drop\", not \"reject\""},
        {"TOML syntax error", {{"p.toml", "[services.sip\nproto = \"udp\"\n"}}, "p.toml", "p.toml:1:14: error: ",
         "TOML syntax: Error while parsing table header"},
        {"TOML duplicate key", {{"p.toml", sip + "proto = \"tcp\"\n"}}, "p.toml", "p.toml:5:", "cannot redefine"},
    };
    for (const auto& row : rows) {
        INFO(row.kind);
        const auto result = load_from(row.files, row.top);
        INFO(error_lines(result));
        CHECK_FALSE(result.ok());
        CHECK_FALSE(result.value.has_value());
        // Exactly one error: no follow-on errors from the same mistake.
        REQUIRE(result.errors.size() == 1);
        const std::string line = result.errors[0].to_string();
        CHECK(line.rfind(row.prefix, 0) == 0);
        CHECK(line.find(row.part) != std::string::npos);
    }
}

TEST_CASE("more than 255 enabled services is refused at the 256th", "[policy]") {
    for (const int count : {255, 256}) {
        INFO(count);
        std::string text;
        for (int i = 1; i <= count; ++i)
            text += "[services.s" + std::to_string(i) + "]\nproto = \"tcp\"\nports = [" + std::to_string(i) + "]\n";
        // A disabled service does not count.
        text += "[services.spare]\nproto = \"tcp\"\nports = [60000]\nenabled = false\n";
        const auto result = load_from({{"p.toml", text}}, "p.toml");
        INFO(error_lines(result));
        if (count == 255) {
            CHECK(result.ok());
            continue;
        }
        REQUIRE(result.errors.size() == 1);
        CHECK(result.errors[0].to_string().rfind("p.toml:766:1: error: too many enabled services: at most 255", 0) == 0);
    }
}

TEST_CASE("a file with many mistakes reports all of them, in line order", "[policy]") {
    const std::string text =
        "extends = \"base.toml\"\n"                 // 1
        "[zones]\n"                                 // 2
        "lan = [\"10.1.1.1/8\", \"fd00::/8\"]\n"    // 3: host bits
        "[services.sip]\n"                          // 4
        "ports = [\"5060-\"]\n"                     // 5: malformed
        "allow = [\"internet\", \"blocked\"]\n"     // 6: blocked
        "[services.fax]\n"                          // 7
        "proto = \"udp\"\n"                         // 8
        "ports = [99999]\n"                         // 9: out of range
        "colour = \"red\"\n"                        // 10: unknown key
        "[engine]\n"                                // 11
        "mode = \"audit\"\n";                       // 12: bad choice
    const file_map files{{"site.toml", text},
                         {"base.toml", "[services.sip]\nproto = \"udp\"\nports = [5060]\nallow = [\"lan\"]\n"}};
    const auto result = load_from(files, "site.toml");
    INFO(error_lines(result));
    const char* expected[] = {"site.toml:3:8: error: ", "site.toml:5:10: error: ", "site.toml:6:22: error: ",
                              "site.toml:9:10: error: ", "site.toml:10:1: error: ", "site.toml:12:8: error: "};
    REQUIRE(result.errors.size() == std::size(expected));
    for (std::size_t i = 0; i < std::size(expected); ++i) {
        INFO(i);
        CHECK(result.errors[i].to_string().rfind(expected[i], 0) == 0);
    }
}

TEST_CASE("errors in every file of the chain are reported, syntax errors included", "[policy]") {
    struct row {
        const char* kind;
        file_map files;
        std::vector<std::string> prefixes;
    };
    const row rows[] = {
        {"syntax error in the base, a bad value in the site",
         {{"site.toml", "extends = \"base.toml\"\n[services.sip]\nports = [5160]\nallow = [\"wan\"]\n"},
          {"base.toml", "[services.sip]\nproto = \"udp\"\nports = [5060\n"}},
         {"site.toml:4:10: error: unknown zone 'wan'", "base.toml:3:15: error: TOML syntax"}},
        // The site's syntax error comes after its `extends`: the base is still checked,
        // and the site's half-read services cause no "has no proto" cascade.
        {"syntax error in the site, a bad value in the base",
         {{"site.toml", "extends = \"base.toml\"\n[services.new]\nports = [5160]\n[[[\n"},
          {"base.toml", "[services.sip]\nproto = \"udp\"\nports = [0]\n"}},
         {"site.toml:4:3: error: TOML syntax", "base.toml:3:10: error: port 0"}},
        {"missing base: the site's overrides are not reported as incomplete services",
         {{"site.toml", "extends = \"gone.toml\"\n[services.sip]\nports = [5160]\n"}},
         {"site.toml:1:1: error: cannot read 'gone.toml'"}},
    };
    for (const auto& r : rows) {
        INFO(r.kind);
        const auto result = load_from(r.files, "site.toml");
        INFO(error_lines(result));
        REQUIRE(result.errors.size() == r.prefixes.size());
        for (std::size_t i = 0; i < r.prefixes.size(); ++i)
            CHECK(result.errors[i].to_string().rfind(r.prefixes[i], 0) == 0);
    }
}

TEST_CASE("the loader never throws: a failing reader and hostile text become errors", "[policy]") {
    struct row {
        const char* kind;
        file_reader reader;
        std::string part;
    };
    const row rows[] = {
        {"reader throws", [](const std::string&) -> std::optional<std::string> { throw std::runtime_error("EIO"); },
         "p.toml: error: cannot read p.toml: EIO"},
        {"reader out of memory", [](const std::string&) -> std::optional<std::string> { throw std::bad_alloc(); },
         "p.toml: error: cannot load policy: out of memory"},
        {"invalid UTF-8", [](const std::string&) -> std::optional<std::string> { return std::string("a = \"\xff\"\n"); },
         "p.toml:1:5: error: TOML syntax"},
        {"embedded NUL", [](const std::string&) -> std::optional<std::string> { return std::string("a = 1\0", 6); },
         "p.toml:1:6: error: TOML syntax"},
        {"integer beyond 64 bits",
         [](const std::string&) -> std::optional<std::string> { return std::string("[engine]\nqueue_maxlen = 99999999999999999999\n"); },
         "p.toml:2:36: error: TOML syntax"},
    };
    for (const auto& r : rows) {
        INFO(r.kind);
        load_result result;
        REQUIRE_NOTHROW(result = load_policy("p.toml", r.reader));
        INFO(error_lines(result));
        REQUIRE(result.errors.size() == 1);
        CHECK(result.errors[0].to_string().rfind(r.part, 0) == 0);
    }
}

TEST_CASE("diagnostics print as FILE:LINE:COL: error: MESSAGE", "[policy]") {
    struct row { diagnostic d; const char* text; };
    const row rows[] = {
        {{{"a.toml", 3, 7}, "boom"}, "a.toml:3:7: error: boom"},
        {{{"a.toml", 0, 0}, "cannot read a.toml"}, "a.toml: error: cannot read a.toml"},
    };
    for (const auto& r : rows) CHECK(r.d.to_string() == r.text);
}
