// The Asterisk config reader on small configs, one syntax point each (main/config.c's
// rules), and the port mapping on small configs, one Asterisk rule each.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>

#include "asterisk/config_reader.hpp"
#include "asterisk/port_mapping.hpp"
#include "asterisk_staging.hpp"

using namespace pbxgate;
using namespace pbxgate::asterisk;
using pbxgate::test::config_dir;

namespace {

// "[cat] name=value" per variable, templates marked "!".
std::vector<std::string> flat(const config& c) {
    std::vector<std::string> out;
    for (const auto& cat : c.categories)
        for (const auto& v : cat.vars) out.push_back("[" + cat.name + (cat.is_template ? "!" : "") + "] " + v.name + "=" + v.value);
    return out;
}

std::vector<std::string> read_flat(const std::string& text) {
    config_dir dir;
    dir.write("x.conf", text);
    const read_result r = read_config(dir.path(), "x.conf");
    for (const auto& e : r.errors) INFO(e.to_string());
    REQUIRE(r.ok());
    return flat(*r.value);
}

std::string first_error(const config_dir& dir, const std::string& file) {
    const read_result r = read_config(dir.path(), file);
    REQUIRE_FALSE(r.ok());
    REQUIRE_FALSE(r.errors.empty());
    auto e = r.errors[0];
    e.where.file = std::filesystem::path(e.where.file).filename().string();
    return e.to_string();
}

// "service ports/proto" per imported port, sorted.
std::vector<std::string> ports_of(const config_dir& dir) {
    const import_result r = import_ports(dir.path());
    for (const auto& e : r.errors) INFO(e.to_string());
    REQUIRE(r.ok());
    std::vector<std::string> out;
    for (const auto& p : r.ports) out.push_back(p.service + " " + describe(p));
    std::sort(out.begin(), out.end());
    return out;
}

bool has(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

}  // namespace

TEST_CASE("asterisk reader: comments") {
    using V = std::vector<std::string>;
    // `;` to the end of the line; `\;` is a literal semicolon.
    CHECK(read_flat("[a]\nk=v ; note\nx=sip:h\\;lr\n") == V{"[a] k=v", "[a] x=sip:h;lr"});
    // `;-- ... --;` spans lines, nests, and keeps what is around it on its lines.
    CHECK(read_flat("[a]\nk=1 ;-- start\nprose without semicolon\n ;-- inner --; still\n--; j=2\nm=3\n") ==
          V{"[a] k=1", "[a] j=2", "[a] m=3"});
    // FreePBX banners: `;--` followed by a 4th `-` is a plain comment, not a block.
    CHECK(read_flat(";--------------------;\n[general]\nrtpstart=10000\n;-----;\n") == V{"[general] rtpstart=10000"});
    // Tab-indented comments and indented bodies.
    CHECK(read_flat("[a]\n\t; tab comment\n    k = v\n") == V{"[a] k=v"});
}

TEST_CASE("asterisk reader: values, operators and whitespace") {
    using V = std::vector<std::string>;
    CHECK(read_flat("[a]\nk  =   v w  \nl => 1.2.3.4 => x\nempty=\n") == V{"[a] k=v w", "[a] l=1.2.3.4 => x", "[a] empty="});
    CHECK(read_flat("[a]\nallow=ulaw\nallow+=,alaw\n") == V{"[a] allow=ulaw,alaw"});
    // A UTF-8 BOM, CRLF line ends, no final newline.
    CHECK(read_flat("\xEF\xBB\xBF[a]\r\nk=v\r\nlast=1") == V{"[a] k=v", "[a] last=1"});
    // IPv6 values keep their colons and brackets.
    CHECK(read_flat("[t]\nbind=[::]:5061\nb2=::\n") == V{"[t] bind=[::]:5061", "[t] b2=::"});
    // A line without '=' is skipped with a warning, as Asterisk does.
    config_dir dir;
    dir.write("x.conf", "[a]\ngarbage\nk=v\n");
    const read_result r = read_config(dir.path(), "x.conf");
    REQUIRE(r.ok());
    CHECK(flat(*r.value) == V{"[a] k=v"});
    REQUIRE(r.value->warnings.size() == 1);
    CHECK(r.value->warnings[0].where.line == 2);
}

TEST_CASE("asterisk reader: templates, inheritance, appends, duplicates") {
    using V = std::vector<std::string>;
    CHECK(read_flat("[t](!)\nbind=0.0.0.0:5060\n[u](t)\nprotocol=udp\n") ==
          V{"[t!] bind=0.0.0.0:5060", "[u] bind=0.0.0.0:5060", "[u] protocol=udp"});
    // (!,base): a template that inherits; (a,b) inherits in order.
    CHECK(read_flat("[a](!)\nx=1\n[b](!,a)\ny=2\n[c](b,a)\n") ==
          V{"[a!] x=1", "[b!] x=1", "[b!] y=2", "[c] x=1", "[c] y=2", "[c] x=1"});
    // (+) appends to the existing category, (+key=value) to the one that matches.
    CHECK(read_flat("[g]\na=1\n[o]\nz=1\n[g](+)\nb=2\n") == V{"[g] a=1", "[g] b=2", "[o] z=1"});
    CHECK(read_flat("[t]\ntype=aor\n[t]\ntype=transport\n[t](+type=transport)\nbind=::\n") ==
          V{"[t] type=aor", "[t] type=transport", "[t] bind=::"});
    // A repeated [general] is a second category, not merged.
    const auto twice = read_flat("[general]\na=1\n[general]\na=2\n");
    CHECK(twice == V{"[general] a=1", "[general] a=2"});
}

TEST_CASE("asterisk reader: errors carry FILE:LINE:COL and stop the file") {
    config_dir dir;
    dir.write("a.conf", "k=v\n");
    CHECK(first_error(dir, "a.conf") == "a.conf:1:1: error: parse error: no category context for this line");
    dir.write("b.conf", "[ok]\n  [broken\n");
    CHECK(first_error(dir, "b.conf") == "b.conf:2:3: error: parse error: no closing ']' in the category name");
    dir.write("c.conf", "[c](nope)\n");
    CHECK(first_error(dir, "c.conf") == "c.conf:1:5: error: inheritance requested, but category 'nope' does not exist");
    dir.write("d.conf", "[d](+)\n");
    CHECK(first_error(dir, "d.conf") == "d.conf:1:1: error: category addition requested, but category 'd' does not exist");
    dir.write("e.conf", "[e]\n\n #include missing.conf\n");
    CHECK(first_error(dir, "e.conf") ==
          "e.conf:3:2: error: the file '" + (dir / "missing.conf") + "' was listed as a #include but it does not exist");
    dir.write("f.conf", "[f](!\n");
    CHECK(first_error(dir, "f.conf") == "f.conf:1:4: error: parse error: no closing ')' after the category options");
}

TEST_CASE("asterisk reader: includes") {
    config_dir dir;
    // Relative to the config dir (not the including file), globbed in textual order,
    // continuing the current category; "..." and <...> are unwrapped; #tryinclude may miss.
    dir.write("main.conf", "[general]\n#include \"sub/*.conf\"\n#tryinclude <absent.conf>\n#include empty.conf\nlast=1\n");
    dir.write("sub/b.conf", "b=2\n");
    dir.write("sub/a.conf", "a=1\n#include sub/inner.inc\n");
    dir.write("sub/inner.inc", "inner=1\n");
    dir.write("empty.conf", "");
    const read_result r = read_config(dir.path(), "main.conf");
    for (const auto& e : r.errors) INFO(e.to_string());
    REQUIRE(r.ok());
    CHECK(flat(*r.value) == std::vector<std::string>{"[general] a=1", "[general] inner=1", "[general] b=2", "[general] last=1"});
    CHECK(std::find(r.value->files.begin(), r.value->files.end(), dir / "absent.conf") != r.value->files.end());
    // A loop ends at the depth limit, with the line that recursed.
    dir.write("loop.conf", "[x]\n#include loop.conf\n");
    CHECK(first_error(dir, "loop.conf").find("loop.conf:2:1: error: #include nested deeper than") == 0);
    // A file too large is refused, not read.
    dir.write("big.conf", "[x]\n" + std::string(4096, ';'));
    reader_limits small;
    small.max_file_bytes = 1024;
    const read_result big = read_config(dir.path(), "big.conf", real_config_fs(), small);
    REQUIRE_FALSE(big.ok());
    CHECK(big.errors[0].message.find("larger than 1024 bytes") != std::string::npos);
}

TEST_CASE("asterisk mapping: PJSIP transports") {
    config_dir dir;
    dir.write("pjsip.conf",
              "[v4]\ntype=transport\nbind=0.0.0.0\n"                  // udp by default, 5060
              "[v6]\ntype=transport\nprotocol=tcp\nbind=[::]:5070\n"  // bracketed with port
              "[bare6]\ntype=transport\nprotocol=tcp\nbind=::\n"      // bare IPv6: no port -> 5060
              "[tls]\ntype=transport\nprotocol=tls\nbind=[2001:db8::1]\n"  // tls default 5061
              "[ws]\ntype=transport\nprotocol=wss\nbind=0.0.0.0:8189\n"    // no socket
              "[nobind]\ntype=transport\nprotocol=udp\n"                   // not started
              "[ep]\ntype=endpoint\ncontact=sip:192.0.2.1:5099\n"          // remote
              "[tpl](!)\ntype=transport\nbind=0.0.0.0:6000\n");            // a template is no object
    const auto p = ports_of(dir);
    CHECK(has(p, "sip 5060/udp"));
    CHECK(has(p, "sip 5070/tcp"));
    CHECK(has(p, "sip 5060/tcp"));
    CHECK(has(p, "sip-tls 5061/tcp"));
    CHECK_FALSE(has(p, "sip 8189/tcp"));
    CHECK_FALSE(has(p, "sip 5099/udp"));
    CHECK_FALSE(has(p, "sip 6000/udp"));
}

TEST_CASE("asterisk mapping: a duplicate transport makes Asterisk load none: an error") {
    config_dir dir;
    dir.write("pjsip.conf", "#include pjsip.transports_custom.conf\n[0.0.0.0-udp]\ntype=transport\nbind=0.0.0.0:5060\n");
    dir.write("pjsip.transports_custom.conf", "[0.0.0.0-udp]\ntype=transport\nbind=0.0.0.0:5062\n");
    const import_result r = import_ports(dir.path());
    REQUIRE_FALSE(r.ok());
    CHECK(r.errors[0].where.file == dir / "pjsip.conf");
    CHECK(r.errors[0].where.line == 2);
    // An override section without type= is not a duplicate (FreePBX custom files).
    dir.write("pjsip.transports_custom.conf", "[0.0.0.0-udp]\nlocal_net=192.0.2.0/24\n");
    CHECK(ports_of(dir) == std::vector<std::string>{"rtp 5000-31001/udp", "sip 5060/udp", "udptl 4000-4999/udp"});
}

TEST_CASE("asterisk mapping: chan_sip follows modules.conf") {
    config_dir dir;
    dir.write("sip.conf", "[general]\nudpbindaddr=0.0.0.0:5062\nbindport=5070\ntcpenable=yes\ntlsenable=yes\n"
                          "tlsbindaddr=[::]\n[peer]\nport=5099\n");
    // bindport overrides the port in udpbindaddr; TCP takes the UDP address with it; TLS
    // without a port in tlsbindaddr: 5061.
    CHECK(ports_of(dir) == std::vector<std::string>{"rtp 5000-31001/udp", "sip 5070/tcp", "sip 5070/udp",
                                                   "sip-tls 5061/tcp", "udptl 4000-4999/udp"});
    // noload wins over load; autoload = no loads only what is named.
    dir.write("modules.conf", "[modules]\nautoload=yes\nload => chan_sip.so\nnoload => chan_sip.so\n");
    CHECK(ports_of(dir) == std::vector<std::string>{"rtp 5000-31001/udp", "udptl 4000-4999/udp"});
    dir.write("modules.conf", "[modules]\nautoload=no\nload => chan_sip.so\nload => res_pjsip.so\n");
    CHECK(ports_of(dir) == std::vector<std::string>{"sip 5070/tcp", "sip 5070/udp", "sip-tls 5061/tcp",
                                                   "udptl 4000-4999/udp"});
    // tcpbindaddr without a port gets 5060, not bindport.
    dir.write("modules.conf", "[modules]\nautoload=yes\n");
    dir.write("sip.conf", "[general]\nbindport=5070\ntcpenable=yes\ntcpbindaddr=0.0.0.0\n");
    CHECK(has(ports_of(dir), "sip 5060/tcp"));
}

TEST_CASE("asterisk mapping: RTP range rules") {
    config_dir dir;
    struct row {
        const char* text;
        const char* expected;
    } rows[] = {
        {"[general]\nrtpstart=10000\nrtpend=20000\n", "rtp 10000-20001/udp"},
        {"[general]\nrtpstart=10001\nrtpend=20000\n", "rtp 10002-20001/udp"},     // odd start rounded up
        {"[general]\nrtpstart=100\nrtpend=2000\n", "rtp 1024-2001/udp"},          // clamped to 1024
        {"[general]\nrtpstart=30000\nrtpend=20000\n", "rtp 5000-31001/udp"},      // start >= end: defaults
        {"[general]\nrtpend=65535\n", "rtp 5000-65535/udp"},                      // RTCP cannot pass 65535
        {"[general]\nrtpstart=10000\n[general]\nrtpstart=12000\n", "rtp 10000-31001/udp"},  // first [general] only
        // FreePBX: rtp_custom.conf lines continue [general] and win.
        {"[general]\n#include rtp_additional.conf\n#include rtp_custom.conf\n", "rtp 12000-13001/udp"},
    };
    dir.write("rtp_additional.conf", "rtpstart=10000\nrtpend=20000\n");
    dir.write("rtp_custom.conf", "rtpstart=12000\nrtpend=13000\n");
    for (const auto& r : rows) {
        dir.write("rtp.conf", r.text);
        INFO(r.text);
        CHECK(has(ports_of(dir), r.expected));
    }
}

TEST_CASE("asterisk mapping: udptl, iax and http rules") {
    config_dir dir;
    dir.write("udptl.conf", "[general]\nudptlstart=4500\nudptlend=4600\n");
    CHECK(has(ports_of(dir), "udptl 4500-4600/udp"));
    dir.write("udptl.conf", "[general]\nudptlstart=80\nudptlend=4600\n");  // out of range: default start
    CHECK(has(ports_of(dir), "udptl 4000-4600/udp"));

    // Every bindaddr is a socket; bindport applies to those after it; a :port wins.
    dir.write("iax.conf", "[general]\nbindaddr=192.0.2.1\nbindport=4600\nbindaddr=[2001:db8::1]\n"
                          "bindaddr=198.51.100.1:4700\n[peer]\nport=4569\n");
    auto p = ports_of(dir);
    CHECK(has(p, "iax 4569/udp"));
    CHECK(has(p, "iax 4600/udp"));
    CHECK(has(p, "iax 4700/udp"));
    dir.write("modules.conf", "[modules]\nautoload=yes\nnoload=chan_iax2.so\n");
    CHECK_FALSE(has(ports_of(dir), "iax 4569/udp"));
    std::filesystem::remove(dir / "modules.conf");

    const struct {
        const char* text;
        std::vector<std::string> expected;
    } http_rows[] = {
        {"[general]\nenabled=no\nbindaddr=0.0.0.0\n", {}},
        {"[general]\nenabled=yes\n", {}},  // no bindaddr: no server
        {"[general]\nenabled=yes\nbindaddr=0.0.0.0\n", {"webrtc 8088/tcp"}},
        {"[general]\nenabled=yes\nbindaddr=[::]:8090\nbindport=8091\n", {"webrtc 8090/tcp"}},
        {"[general]\nenabled=yes\nbindaddr=0.0.0.0\ntlsenable=yes\n", {"webrtc 8088/tcp", "webrtc-tls 8089/tcp"}},
        {"[general]\nenabled=no\ntlsenable=yes\ntlsbindaddr=0.0.0.0:8443\n", {"webrtc-tls 8443/tcp"}},
        {"[general]\nenabled=yes\nbindaddr=0.0.0.0\ntlsbindaddr=0.0.0.0:8443\n", {"webrtc 8088/tcp"}},  // tls off
    };
    for (const auto& row : http_rows) {
        dir.write("http.conf", row.text);
        INFO(row.text);
        std::vector<std::string> web;
        for (const auto& s : ports_of(dir))
            if (s.rfind("webrtc", 0) == 0) web.push_back(s);
        CHECK(web == row.expected);
    }
}
