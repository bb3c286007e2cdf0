// Blocklist files: the line parser (table-driven), the prefix structure the packet path
// consults, the packet-path rule (which zones a list may block), the loader's per-line and
// per-file semantics, the kernel members, and the pre-filter's in-place/swap refill.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <thread>
#include <string>
#include <vector>

#include "address_helpers.hpp"
#include "blocklist/blocklist_loader.hpp"
#include "blocklist/blocklist_parser.hpp"
#include "blocklist/blocklist_set.hpp"
#include "blocklist/blocklist_slot.hpp"
#include "engine/kernel_prefilter.hpp"
#include "fake_set_backend.hpp"
#include "reload/policy_slot.hpp"
#include "kernelset/prefilter_sets.hpp"
#include "test_policy_support.hpp"

using namespace pbxgate;

namespace {

ip_address addr(const std::string& text) {
    const auto a = parse_address(text);
    REQUIRE(a);
    return *a;
}

ip_prefix pfx(const std::string& text) {
    const auto p = parse_prefix(text);
    REQUIRE(p);
    return *p;
}

std::vector<std::string> entry_texts(const blocklist::parsed_file& f) {
    std::vector<std::string> out;
    for (const auto& e : f.entries) out.push_back(to_string(e.prefix) + "@" + std::to_string(e.line));
    return out;
}

std::vector<std::uint32_t> error_lines(const blocklist::parsed_file& f) {
    std::vector<std::uint32_t> out;
    for (const auto& e : f.errors) out.push_back(e.line);
    return out;
}

}  // namespace

TEST_CASE("blocklist parser: entries, comments, blank lines and bad lines", "[blocklist]") {
    struct row {
        const char* what;
        std::string text;
        std::vector<std::string> entries;  // PREFIX@LINE
        std::vector<std::uint32_t> bad;    // lines reported
    };
    const std::vector<row> rows = {
        {"empty file", "", {}, {}},
        {"one address, no newline", "192.0.2.1", {"192.0.2.1/32@1"}, {}},
        {"prefix and IPv6", "198.51.100.0/24\n2001:db8::/32\n", {"198.51.100.0/24@1", "2001:db8::/32@2"}, {}},
        {"whole-line and trailing comments", "# APIBan\n192.0.2.7 # scanner\n  # indented\n",
         {"192.0.2.7/32@2"}, {}},
        {"blank lines and spaces kept in the numbering", "\n\n   \n\t192.0.2.9\t\n", {"192.0.2.9/32@4"}, {}},
        {"CRLF line ends", "192.0.2.1\r\n192.0.2.2\r\n", {"192.0.2.1/32@1", "192.0.2.2/32@2"}, {}},
        {"UTF-8 byte order mark", "\xEF\xBB\xBF" "192.0.2.3\n", {"192.0.2.3/32@1"}, {}},
        {"a bad line skips itself, the rest applies", "192.0.2.1\nnot-an-ip\n192.0.2.2\n",
         {"192.0.2.1/32@1", "192.0.2.2/32@3"}, {2}},
        {"host bits set is an error", "192.0.2.1/24\n", {}, {1}},
        {"prefix length out of range", "192.0.2.0/33\n2001:db8::/129\n", {}, {1, 2}},
        {"two entries on one line", "192.0.2.1 192.0.2.2\n", {}, {1}},
        {"too broad for a feed", "0.0.0.0/0\n10.0.0.0/7\n::/0\n2001::/15\n", {}, {1, 2, 3, 4}},
        {"broadest allowed", "10.0.0.0/8\n2001::/16\n", {"10.0.0.0/8@1", "2001::/16@2"}, {}},
        {"IPv4-mapped IPv6 becomes IPv4", "::ffff:192.0.2.5\n::ffff:192.0.2.0/120\n",
         {"192.0.2.5/32@1", "192.0.2.0/24@2"}, {}},
        {"HTML error page saved as the list", "<html>\n<body>502 Bad Gateway</body>\n</html>\n", {}, {1, 2, 3}},
        {"NUL and control bytes", std::string("192.0.2.1\0\n\x01\n", 13), {}, {1, 2}},
        {"overlong line", std::string(600, '1') + "\n192.0.2.4\n", {"192.0.2.4/32@2"}, {1}},
    };
    for (const row& r : rows) {
        SECTION(r.what) {
            const auto parsed = blocklist::parse_file(r.text, 1000);
            CHECK(entry_texts(parsed) == r.entries);
            CHECK(error_lines(parsed) == r.bad);
            CHECK(parsed.malformed == r.bad.size());
            CHECK(parsed.refused == 0);
        }
    }
}

TEST_CASE("blocklist parser: bounds on entries and on reported errors", "[blocklist]") {
    std::string text;
    for (int i = 0; i < 10; ++i) text += "192.0.2." + std::to_string(i) + "\n";
    const auto capped = blocklist::parse_file(text, 4);
    CHECK(capped.entries.size() == 4);
    CHECK(capped.refused == 6);

    std::string junk;
    for (int i = 0; i < 1000; ++i) junk += "junk\n";
    const auto bad = blocklist::parse_file(junk, 10);
    CHECK(bad.malformed == 1000);
    CHECK(bad.errors.size() == blocklist::max_reported_errors);
    CHECK(bad.errors.front().line == 1);
}

TEST_CASE("blocklist set: lookups against ip_prefix::contains", "[blocklist]") {
    const std::vector<std::string> lists = {"192.0.2.0/25", "198.51.100.7", "203.0.113.0/24", "2001:db8:1::/48",
                                            "2001:db8:2::5"};
    std::vector<blocklist::entry> entries;
    for (std::size_t i = 0; i < lists.size(); ++i) entries.push_back({pfx(lists[i]), static_cast<std::uint32_t>(i + 1)});
    const auto set = blocklist::blocklist_set::build({{"/lists/a.txt", entries}});
    struct row {
        const char* address;
        bool listed;
    };
    const std::vector<row> rows = {
        {"192.0.2.0", true},     {"192.0.2.127", true},      {"192.0.2.128", false},
        {"198.51.100.7", true},  {"198.51.100.8", false},    {"203.0.113.255", true},
        {"::ffff:198.51.100.7", true},                        {"2001:db8:1:ffff::1", true},
        {"2001:db8:2::5", true}, {"2001:db8:2::6", false},   {"2001:db8:3::1", false},
        {"10.0.0.1", false},
    };
    for (const row& r : rows) {
        INFO(r.address);
        CHECK(set->contains(addr(r.address)) == r.listed);
        CHECK(!set->matches(addr(r.address)).empty() == r.listed);
    }
    const auto m = set->matches(addr("198.51.100.7"));
    REQUIRE(m.size() == 1);
    CHECK(m[0].file == "/lists/a.txt");
    CHECK(m[0].line == 2);
    CHECK(blocklist::blocklist_set::empty()->contains(addr("192.0.2.1")) == false);
}

TEST_CASE("blocklist set: 100,000 IPv6 prefixes and the IPv4 documentation ranges", "[blocklist]") {
    std::vector<blocklist::entry> entries;
    for (std::uint64_t i = 0; i < 100000; ++i)
        entries.push_back({ip_prefix{test::v6(0x20010db800000000ull | (i << 8), 0), 56}, static_cast<std::uint32_t>(i + 1)});
    entries.push_back({pfx("192.0.2.0/24"), 100001});
    entries.push_back({pfx("198.51.100.128/25"), 100002});
    const auto set = blocklist::blocklist_set::build({{"/big.txt", entries}});
    CHECK(set->entry_count() == 100002);
    CHECK(set->contains(test::v6(0x20010db800000000ull | (99999ull << 8) | 0x12, 7)));
    CHECK_FALSE(set->contains(test::v6(0x20010db800000000ull | (100000ull << 8), 1)));
    CHECK(set->contains(addr("192.0.2.200")));
    CHECK(set->contains(addr("198.51.100.200")));
    CHECK_FALSE(set->contains(addr("198.51.100.100")));
}

TEST_CASE("blocklist rule: which decisions a listed source changes", "[blocklist]") {
    const auto set = blocklist::blocklist_set::build({{"/l", {{pfx("192.0.2.0/24"), 1}}}});
    const ip_address listed = addr("192.0.2.9");
    struct row {
        const char* what;
        decision before;
        bool outbound;
        bool blocked;
    };
    const decision allowed_internet{verdict::accept, reason::allowed, zone::internet, 1};
    const std::vector<row> rows = {
        {"internet source, allowed port", allowed_internet, false, true},
        {"internet source, port already dropped", {verdict::drop, reason::no_service, zone::internet, 0}, false, true},
        {"trusted wins", {verdict::accept, reason::allowed, zone::trusted, 1}, false, false},
        {"lan wins", {verdict::accept, reason::allowed, zone::lan, 1}, false, false},
        {"localhost wins", {verdict::accept, reason::allowed, zone::localhost, 1}, false, false},
        {"policy-blocked keeps its reason", {verdict::drop, reason::blocked, zone::blocked, 0}, false, false},
        {"the PBX's own outbound packets", allowed_internet, true, false},
        {"router placement: not a protected destination",
         {verdict::accept, reason::not_protected, zone::internet, 0}, false, false},
    };
    for (const row& r : rows) {
        SECTION(r.what) {
            decision d = r.before;
            blocklist::apply(set.get(), listed, r.outbound, d);
            if (r.blocked) {
                CHECK(d.action == verdict::drop);
                CHECK(d.why == reason::blocklist);
                CHECK(d.from == zone::blocked);
            } else {
                CHECK(d.action == r.before.action);
                CHECK(d.why == r.before.why);
                CHECK(d.from == r.before.from);
            }
        }
    }
    decision d = allowed_internet;
    blocklist::apply(set.get(), addr("198.51.100.1"), false, d);
    CHECK(d.why == reason::allowed);
    blocklist::apply(nullptr, listed, false, d);
    CHECK(d.why == reason::allowed);
}

TEST_CASE("blocklist loader: per-line errors, unreadable files keep their entries", "[blocklist]") {
    std::map<std::string, std::string> disk = {{"/l/a.txt", "192.0.2.1\nbad line\n192.0.2.2\n"},
                                               {"/l/b.txt", "2001:db8::/48\n"}};
    const file_reader read = [&](const std::string& p) -> std::optional<std::string> {
        const auto it = disk.find(p);
        if (it == disk.end()) return std::nullopt;
        return it->second;
    };
    blocklist_settings s;
    s.files = {"/l/a.txt", "/l/b.txt"};
    blocklist::load_report rep;
    const auto first = blocklist::load(s, read, nullptr, rep);
    CHECK(first->entry_count() == 3);
    REQUIRE(rep.problems.size() == 1);
    CHECK(rep.problems[0].rfind("/l/a.txt:2: ", 0) == 0);
    CHECK(rep.errors == 1);
    REQUIRE(rep.files.size() == 2);
    CHECK(rep.files[0].entries == 2);
    CHECK(rep.files[0].malformed == 1);

    disk.erase("/l/b.txt");  // a failed download: the previous contents stay
    disk["/l/a.txt"] = "192.0.2.3\n";
    const auto second = blocklist::load(s, read, first.get(), rep);
    CHECK(second->contains(addr("192.0.2.3")));
    CHECK_FALSE(second->contains(addr("192.0.2.1")));
    CHECK(second->contains(addr("2001:db8::1")));
    CHECK_FALSE(rep.files[1].readable);
    CHECK(rep.files[1].entries == 1);
    REQUIRE(rep.problems.size() == 1);
    CHECK(rep.problems[0].find("/l/b.txt: cannot read") == 0);

    const auto fresh = blocklist::load(s, read, nullptr, rep);  // at start: nothing to keep
    CHECK_FALSE(fresh->contains(addr("2001:db8::1")));

    const file_reader refusing = [](const std::string&) -> std::optional<std::string> {
        throw std::runtime_error("writable by others");
    };
    const auto strict = blocklist::load(s, refusing, first.get(), rep);
    CHECK(strict->entry_count() == 3);
    CHECK(rep.problems[0].find("writable by others") != std::string::npos);
}

TEST_CASE("blocklist kernel members: entries overlapping trusted, lan or loopback stay out", "[blocklist]") {
    std::vector<blocklist::entry> e;
    for (const char* t : {"192.0.2.0/24", "198.51.100.5", "198.51.100.0/26", "203.0.113.0/24", "127.0.0.0/8",
                          "2001:db8::/32", "2001:db8:1::/48"})
        e.push_back({pfx(t), 1});
    const auto set = blocklist::blocklist_set::build({{"/l", e}});
    zone_defs zones;
    zones.trusted = {pfx("192.0.2.10/32")};
    zones.lan = {pfx("198.51.100.0/24"), pfx("2001:db8:1:2::/64")};
    std::vector<std::string> got;
    for (const ip_prefix& p : blocklist::kernel_members(*set, zones)) got.push_back(to_string(p));
    CHECK(got == std::vector<std::string>{"203.0.113.0/24"});
}

TEST_CASE("blocklist slot: publish replaces the set readers see", "[blocklist]") {
    blocklist::blocklist_slot slot;
    CHECK(slot.current()->entry_count() == 0);
    slot.publish(blocklist::blocklist_set::build({{"/l", {{pfx("192.0.2.0/24"), 1}}}}));
    CHECK(slot.current()->contains(addr("192.0.2.1")));
    slot.publish(blocklist::blocklist_set::empty());
    CHECK_FALSE(slot.current()->contains(addr("192.0.2.1")));
}

TEST_CASE("kernel pre-filter: list members join the blocked sets, small changes in place", "[blocklist]") {
    auto backend = std::make_unique<test::fake_set_backend>();
    test::fake_set_backend& fake = *backend;
    for (const ip_family f : {ip_family::v4, ip_family::v6}) fake.create(kernelset::blocked_spec(f));
    kernel_prefilter pre(std::move(backend));
    policy pol;
    pol.zones.blocked = {pfx("203.0.113.0/24")};
    std::vector<ip_prefix> members;
    for (int i = 0; i < 5000; ++i)
        members.push_back(ip_prefix{test::v6(0x20010db800000000ull | (std::uint64_t(i) << 16), 0), 48});
    members.push_back(pfx("192.0.2.7"));
    pre.set_list_members(members, false);
    pre.apply_blocked(pol, false);
    const auto count = [&](std::string_view set) { return fake.sets.find(set)->second.entries.size(); };
    CHECK(count(kernelset::blocked_set_v4) == 2);
    CHECK(count(kernelset::blocked_set_v6) == 5000);
    // The fresh set was created big enough for a long feed (ipset's default is 65536).
    CHECK(std::find(fake.calls.begin(), fake.calls.end(), "swap pbxgate-blocked6-n pbxgate-blocked6") != fake.calls.end());

    fake.calls.clear();
    members.back() = pfx("192.0.2.8");  // one line changed: no new set, no swap
    pre.set_list_members(members);
    CHECK(count(kernelset::blocked_set_v4) == 2);
    for (const std::string& c : fake.calls) CHECK(c.rfind("swap", 0) != 0);
    const auto& v4 = fake.sets.find(kernelset::blocked_set_v4)->second.entries;
    CHECK(std::any_of(v4.begin(), v4.end(), [&](const auto& e) { return e.prefix == pfx("192.0.2.8"); }));
    CHECK_FALSE(std::any_of(v4.begin(), v4.end(), [&](const auto& e) { return e.prefix == pfx("192.0.2.7"); }));

    fake.calls.clear();
    members.resize(10);  // thousands removed: a fresh set and a swap
    pre.set_list_members(members);
    CHECK(count(kernelset::blocked_set_v6) == 10);
    CHECK(std::find(fake.calls.begin(), fake.calls.end(), "swap pbxgate-blocked6-n pbxgate-blocked6") != fake.calls.end());
}

TEST_CASE("blocklist policy keys: [blocklists] files and max_entries", "[blocklist]") {
    struct row {
        const char* what;
        std::string toml;
        std::vector<std::string> files;  // expected when ok
        std::uint32_t max_entries;
        const char* error;  // substring of the error lines; nullptr: loads
    };
    const std::vector<row> rows = {
        {"absent: no lists", "", {}, 1000000, nullptr},
        {"absolute and relative paths", "[blocklists]\nfiles = [\"/var/lib/pbxgate/apiban.txt\", \"lists/own.txt\"]\n",
         {"/var/lib/pbxgate/apiban.txt", "/etc/pbxgate/lists/own.txt"}, 1000000, nullptr},
        {"max_entries", "[blocklists]\nmax_entries = 5000\n", {}, 5000, nullptr},
        {"unknown key", "[blocklists]\nfile = [\"a.txt\"]\n", {}, 0, "/etc/pbxgate/site.toml:2:1: error: unknown key 'file'"},
        {"not an array", "[blocklists]\nfiles = \"a.txt\"\n", {}, 0, "site.toml:2:9: error: blocklists.files must be an array"},
        {"a file named twice", "[blocklists]\nfiles = [\"a.txt\", \"./a.txt\"]\n", {}, 0, "names /etc/pbxgate/a.txt twice"},
        {"empty name", "[blocklists]\nfiles = [\"\"]\n", {}, 0, "blocklists.files"},
        {"max_entries out of range", "[blocklists]\nmax_entries = 0\n", {}, 0, "site.toml:2:15: error:"},
        {"not a table", "blocklists = 3\n", {}, 0, "[blocklists]"},
    };
    for (const row& r : rows) {
        SECTION(r.what) {
            const auto loaded = test::load_from({{"/etc/pbxgate/site.toml", r.toml}}, "/etc/pbxgate/site.toml");
            if (r.error) {
                CHECK_FALSE(loaded.ok());
                CHECK_THAT(test::error_lines(loaded), Catch::Contains(r.error));
            } else {
                REQUIRE(loaded.ok());
                CHECK(loaded.value->blocklists.files == r.files);
                CHECK(loaded.value->blocklists.max_entries == r.max_entries);
                // List files are not policy files: a list change must not recompile the policy.
                for (const std::string& f : r.files)
                    CHECK(std::find(loaded.value->files.begin(), loaded.value->files.end(), f) == loaded.value->files.end());
            }
        }
    }
}

TEST_CASE("blocklist slot: readers judging bursts while lists are published", "[blocklist]") {
    // Each generation lists exactly one of 192.0.2.0..49: a reader holding one set sees it
    // whole (one address listed), never a freed or half-built one (ASan/TSan builds check).
    blocklist::blocklist_slot slot;
    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> bursts{0}, torn{0};
    std::vector<std::thread> readers;
    for (int t = 0; t < 2; ++t)
        readers.emplace_back([&] {
            qsbr_reader registration;
            while (!stop.load()) {
                const blocklist::blocklist_set* set = slot.current();
                int listed = 0;
                for (std::uint32_t i = 0; i < 50; ++i) listed += set->contains(ip_address::v4(0xC0000200u + i));
                if (set->entry_count() == 1 && listed != 1) torn.fetch_add(1);
                bursts.fetch_add(1);
                qsbr_reader::quiescent();
            }
            qsbr_reader::offline();
        });
    // Readers first: publishing before any runs would test nothing (bounded wait).
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (bursts.load() < 2 && std::chrono::steady_clock::now() < give_up) std::this_thread::yield();
    for (std::uint32_t g = 0; g < 50; ++g)
        slot.publish(blocklist::blocklist_set::build({{"/l", {{ip_prefix{ip_address::v4(0xC0000200u + g), 32}, 1}}}}));
    stop = true;
    for (auto& r : readers) r.join();
    CHECK(torn.load() == 0);
    CHECK(bursts.load() > 0);
    CHECK(slot.current()->contains(ip_address::v4(0xC0000200u + 49)));
}
