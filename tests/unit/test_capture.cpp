#include <catch2/catch.hpp>

#include <pcap/pcap.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "capture/link_layer.hpp"
#include "packet_builder.hpp"
#include "pbxgate/capture.hpp"
#include "pbxgate/packet.hpp"

using namespace pbxgate;
using namespace pbxgate::test;
namespace fs = std::filesystem;

namespace {

const std::string pcap_dir = std::string(PBXGATE_SHARED_DIR) + "/pcaps";

constexpr int ethernet = 1;      // DLT_EN10MB
constexpr int linux_sll = 113;   // DLT_LINUX_SLL
constexpr int bsd_null = 0;      // DLT_NULL
constexpr int raw_ipv4 = 228;    // LINKTYPE_IPV4

struct capture_row {
    const char* file;
    int link_type;
    std::uint64_t frames;  // the README's packet count
    bool rtp_only;         // only IP frames: nothing may be skipped
    bool all_parse;        // every packet must parse without error
};

// From pcaps/README.md. "all_parse" is set for captures with no deliberately broken
// packets; the fuzzed/crafted ones have their own test below.
const capture_row capture_rows[] = {
    {"arkime_ssh2.pcap", ethernet, 22, false, true},
    {"arkime_stun-ice-testcall.pcap", ethernet, 108, false, true},
    {"arkime_tftp_rrq.pcap", ethernet, 99, false, true},
    {"arkime_tls13.pcap", ethernet, 6, false, true},
    {"asterisk_40msalaw.pcap", linux_sll, 826, true, true},
    {"asterisk_A_party_g711a.pcap", ethernet, 5535, true, true},
    {"asterisk_CARRIER_G711U.pcap", ethernet, 800, true, true},
    {"asterisk_ast-2016-003_fax_crash.pcap", linux_sll, 128, false, true},
    {"asterisk_opus_48khz_60_fec_rtp.pcapng", ethernet, 3000, true, true},
    {"asterisk_ulaw-2013785496.pcap", linux_sll, 974, true, true},
    {"heplify_ipv6_udp_fragmented.pcap", ethernet, 6, false, true},
    {"heplify_rtp_rtcp_sip_ipv4_udp.pcap", ethernet, 4269, false, true},
    {"heplify_sip_ipv4_tcp.pcap", ethernet, 84, false, true},
    {"heplify_sip_ipv6_udp.pcap", ethernet, 6, false, true},
    {"heplify_sip_sctp.pcap", linux_sll, 5, false, true},
    {"heplify_sip_tcp_websocket.pcap", ethernet, 61, false, true},
    {"initconf_BadUserAgent-sipvicious.pcap", ethernet, 26, false, true},
    {"initconf_SIP-3700-unauthorized-401.pcap", ethernet, 52, false, true},
    {"initconf_SIP-Bruteforce-Single-IP.pcap", ethernet, 2645, false, true},
    {"ndpi_badpackets.pcap", ethernet, 93, false, false},
    {"ndpi_fuzz-2006-06-26-2594.pcap", ethernet, 691, false, false},
    {"ndpi_iax.pcap", ethernet, 50, false, true},
    {"sipp_g711a.pcap", ethernet, 236, true, true},
    {"sngrep_aaa.pcap", ethernet, 691, false, true},
    {"sngrep_ipip.pcap", ethernet, 4, false, true},
    {"sngrep_tlssaved.pcap", ethernet, 12, false, true},
    {"suricata_sip-body-large.pcap", bsd_null, 16, false, true},
    {"suricata_sip-tcp.pcap", ethernet, 11, false, true},
    {"tcpdump_rtp-seg-fault-1.pcapng", ethernet, 1, false, false},
    {"tcpdump_tftp-heapoverflow.pcap", linux_sll, 1, false, false},
    {"zeek_sip-long-request-response-paths.pcap", raw_ipv4, 2, false, true},
    {"zeek_webrtc-stun.pcap", ethernet, 14, false, true},
};

}  // namespace

TEST_CASE("the capture table lists every shared capture", "[capture]") {
    std::set<std::string> on_disk, in_table;
    for (const auto& entry : fs::directory_iterator(pcap_dir)) {
        const auto ext = entry.path().extension();
        if (ext == ".pcap" || ext == ".pcapng") on_disk.insert(entry.path().filename().string());
    }
    for (const auto& r : capture_rows) in_table.insert(r.file);
    CHECK(on_disk == in_table);
}

TEST_CASE("every shared capture reads with the README's frame count and link type", "[capture]") {
    for (const auto& r : capture_rows) {
        INFO(r.file);
        const capture_contents c = read_capture(pcap_dir + "/" + r.file);
        CHECK(c.frames == r.frames);
        CHECK(c.link_type == r.link_type);
        CHECK(c.packets.size() + c.skipped == c.frames);
        if (r.rtp_only) CHECK(c.skipped == 0);
        std::uint32_t previous = 0;
        std::map<std::string, unsigned> errors;
        for (std::size_t i = 0; i < c.packets.size(); ++i) {
            const captured_packet& p = c.packets[i];
            REQUIRE(p.index < c.frames);
            if (i > 0) CHECK(p.index > previous);  // file order, skipped frames counted
            previous = p.index;
            CHECK(p.wire_len >= p.ip.size());
            packet_view v;
            const parse_error e = parse_ip_packet(p.ip.data(), p.ip.size(), p.wire_len, v);
            if (e != parse_error::none) ++errors[std::string(to_string(e))];
        }
        if (r.all_parse) {
            for (const auto& [name, n] : errors) {
                INFO(name << " x" << n);
                CHECK(n == 0);
            }
        }
    }
}

TEST_CASE("crafted and fuzzed captures are flagged, never over-read", "[capture]") {
    struct row {
        const char* file;
        std::size_t min_malformed;  // at least this many packets must fail to parse
        bool all_malformed;
    };
    const row rows[] = {
        {"ndpi_badpackets.pcap", 93, true},           // "all flagged malformed" (README)
        {"ndpi_fuzz-2006-06-26-2594.pcap", 1, false},  // bit-flipped: some IP/UDP headers broke
        {"tcpdump_rtp-seg-fault-1.pcapng", 1, true},
        {"tcpdump_tftp-heapoverflow.pcap", 1, true},
    };
    for (const auto& r : rows) {
        INFO(r.file);
        const capture_contents c = read_capture(pcap_dir + "/" + r.file);
        std::size_t malformed = 0;
        for (const captured_packet& p : c.packets) {
            INFO("frame " << p.index);
            const bytes exact(p.ip.begin(), p.ip.end());  // exact size: ASan sees any over-read
            packet_view v;
            const parse_error e = parse_ip_packet(exact.data(), exact.size(), p.wire_len, v);
            if (e != parse_error::none) ++malformed;
            if (v.payload != nullptr) {
                CHECK(v.payload >= exact.data());
                CHECK(v.payload + v.payload_len <= exact.data() + exact.size());
            }
        }
        CHECK(malformed >= r.min_malformed);
        if (r.all_malformed) CHECK(malformed == c.packets.size());
    }
}

TEST_CASE("captures with LAN noise skip the non-IP frames", "[capture]") {
    const capture_contents c = read_capture(pcap_dir + "/heplify_rtp_rtcp_sip_ipv4_udp.pcap");
    CHECK(c.skipped > 0);  // CDP, STP, ...: LLC frames
    CHECK(c.packets.size() > 2884);  // at least the RTP
}

TEST_CASE("unreadable captures throw a clear error", "[capture]") {
    const fs::path dir = fs::temp_directory_path() / ("pbxgate_test_capture_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const std::string not_pcap = (dir / "notes.pcap").string();
    std::ofstream(not_pcap) << "this is not a capture file, just text long enough for a header\n";
    const std::string empty = (dir / "empty.pcap").string();
    std::ofstream{empty};

    struct row { std::string path; };
    const row rows[] = {{(dir / "missing.pcap").string()}, {not_pcap}, {empty}};
    for (const auto& r : rows) {
        INFO(r.path);
        try {
            (void)read_capture(r.path);
            FAIL("read_capture did not throw");
        } catch (const std::runtime_error& e) {
            const std::string what = e.what();
            INFO(what);
            CHECK(what.find(r.path) != std::string::npos);
            CHECK(what.size() > r.path.size() + 25);  // libpcap's reason is there too
        }
    }
    fs::remove_all(dir);
}

namespace {

bytes concat(bytes head, const bytes& tail) {
    head.insert(head.end(), tail.begin(), tail.end());
    return head;
}

const bytes ip4 = packet_builder::ipv4("192.0.2.1", "192.0.2.2").udp(5060, 5060).payload(4).build();
const bytes ip6 = packet_builder::ipv6("2001:db8::1", "2001:db8::2").udp(5060, 5060).payload(4).build();

bytes ether(std::uint16_t type, std::vector<std::uint16_t> tags = {}) {
    bytes b(12, 0x02);  // dst + src MAC
    for (const auto t : tags) {
        append16(b, t);
        append16(b, 100);  // VLAN id
    }
    append16(b, type);
    return b;
}

bytes sll(std::uint16_t protocol) {
    bytes b(14, 0);
    append16(b, protocol);
    return b;
}

// The protocol field leads the 20-byte header. Sized first and written in place: growing a
// 2-byte vector to 20 trips a g++ 12 -O3 -Warray-bounds false positive in the move.
bytes sll2(std::uint16_t protocol) {
    bytes b(20, 0);
    put16(b, 0, protocol);
    return b;
}

}  // namespace

TEST_CASE("link headers are stripped per link type", "[capture]") {
    constexpr int dlt_null = 0, dlt_en10mb = 1, dlt_raw = 12, dlt_raw_bsd = 14, dlt_loop = 108, dlt_sll = 113,
                  dlt_ipv4 = 228, dlt_ipv6 = 229, dlt_sll2 = 276;
    struct row {
        const char* name;
        int dlt;
        bytes frame;
        long offset;  // -1: skipped
    };
    const row rows[] = {
        {"ethernet ipv4", dlt_en10mb, concat(ether(0x0800), ip4), 14},
        {"ethernet ipv6", dlt_en10mb, concat(ether(0x86dd), ip6), 14},
        {"802.1Q", dlt_en10mb, concat(ether(0x0800, {0x8100}), ip4), 18},
        {"802.1ad + 802.1Q", dlt_en10mb, concat(ether(0x86dd, {0x88a8, 0x8100}), ip6), 22},
        {"five tags is too many", dlt_en10mb, concat(ether(0x0800, {0x8100, 0x8100, 0x8100, 0x8100, 0x8100}), ip4), -1},
        {"tag cut short", dlt_en10mb, truncated(ether(0x0800, {0x8100}), 16), -1},
        {"ARP", dlt_en10mb, concat(ether(0x0806), bytes(28, 0)), -1},
        {"LLC (STP, CDP)", dlt_en10mb, concat(ether(0x0026), bytes(38, 0x42)), -1},
        {"ethertype IPv4 carrying v6", dlt_en10mb, concat(ether(0x0800), ip6), -1},
        {"ethernet header only", dlt_en10mb, ether(0x0800), -1},
        {"13-byte frame", dlt_en10mb, bytes(13, 0), -1},
        {"SLL ipv4", dlt_sll, concat(sll(0x0800), ip4), 16},
        {"SLL ipv6", dlt_sll, concat(sll(0x86dd), ip6), 16},
        {"SLL ARP", dlt_sll, concat(sll(0x0806), bytes(28, 0)), -1},
        {"SLL short", dlt_sll, bytes(15, 0), -1},
        {"SLL2 ipv4", dlt_sll2, concat(sll2(0x0800), ip4), 20},
        {"SLL2 ipv6", dlt_sll2, concat(sll2(0x86dd), ip6), 20},
        {"SLL2 short", dlt_sll2, bytes(19, 0), -1},
        {"NULL AF_INET little-endian", dlt_null, concat({2, 0, 0, 0}, ip4), 4},
        {"NULL AF_INET big-endian", dlt_null, concat({0, 0, 0, 2}, ip4), 4},
        {"NULL AF_INET6 Linux", dlt_null, concat({10, 0, 0, 0}, ip6), 4},
        {"NULL AF_INET6 BSD big-endian", dlt_null, concat({0, 0, 0, 24}, ip6), 4},
        {"NULL AF_INET6 FreeBSD", dlt_null, concat({28, 0, 0, 0}, ip6), 4},
        {"NULL AF_INET6 macOS", dlt_null, concat({30, 0, 0, 0}, ip6), 4},
        {"NULL other family", dlt_null, concat({7, 0, 0, 0}, ip4), -1},
        {"NULL short", dlt_null, bytes{2, 0, 0}, -1},
        {"LOOP AF_INET", dlt_loop, concat({0, 0, 0, 2}, ip4), 4},
        {"LOOP little-endian is not LOOP", dlt_loop, concat({2, 0, 0, 0}, ip4), -1},
        {"raw ipv4", dlt_raw, ip4, 0},
        {"raw ipv6", dlt_raw, ip6, 0},
        {"raw (BSD number)", dlt_raw_bsd, ip6, 0},
        {"LINKTYPE_RAW", 101, ip4, 0},
        {"raw garbage", dlt_raw, bytes{0x12, 0x34}, -1},
        {"raw empty", dlt_raw, bytes{}, -1},
        {"IPV4 link type with ipv4", dlt_ipv4, ip4, 0},
        {"IPV4 link type with ipv6", dlt_ipv4, ip6, -1},
        {"IPV6 link type with ipv6", dlt_ipv6, ip6, 0},
        {"IPV6 link type with ipv4", dlt_ipv6, ip4, -1},
    };
    for (const auto& r : rows) {
        INFO(r.name);
        CHECK(capture::link_type_supported(r.dlt));
        const bytes exact(r.frame.begin(), r.frame.end());
        const auto off = capture::ip_offset(r.dlt, exact.empty() ? nullptr : exact.data(), exact.size());
        CHECK((off ? static_cast<long>(*off) : -1L) == r.offset);
    }
    CHECK_FALSE(capture::link_type_supported(105));  // 802.11
}

TEST_CASE("a written capture reads back with indexes and wire lengths", "[capture]") {
    const fs::path file = fs::temp_directory_path() / ("pbxgate_test_sll2_" + std::to_string(::getpid()) + ".pcap");
    constexpr int dlt_sll2 = 276;
    const bytes frames[] = {
        concat(sll2(0x0806), bytes(28, 0)),  // ARP: skipped, still index 0
        concat(sll2(0x0800), ip4),
        concat(sll2(0x86dd), ip6),
    };
    {
        pcap_t* dead = pcap_open_dead(dlt_sll2, 65535);
        REQUIRE(dead != nullptr);
        pcap_dumper_t* dumper = pcap_dump_open(dead, file.c_str());
        REQUIRE(dumper != nullptr);
        for (const auto& f : frames) {
            pcap_pkthdr h{};
            h.caplen = static_cast<bpf_u_int32>(f.size());
            h.len = h.caplen + 100;  // as if snapped 100 bytes short
            pcap_dump(reinterpret_cast<u_char*>(dumper), &h, f.data());
        }
        pcap_dump_close(dumper);
        pcap_close(dead);
    }
    const capture_contents c = read_capture(file.string());
    fs::remove(file);
    CHECK(c.link_type == dlt_sll2);
    CHECK(c.frames == 3);
    CHECK(c.skipped == 1);
    REQUIRE(c.packets.size() == 2);
    CHECK(c.packets[0].index == 1);
    CHECK(c.packets[0].ip == ip4);
    CHECK(c.packets[0].wire_len == ip4.size() + 100);
    CHECK(c.packets[1].index == 2);
    CHECK(c.packets[1].ip == ip6);
}
