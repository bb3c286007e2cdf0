// Reload: a refused policy changes nothing, a fixed one takes effect, service ids stay
// stable across generations, and the status file `pbxgate reload` reads round-trips.
#include <catch2/catch.hpp>

#include <netinet/in.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "reload/policy_slot.hpp"
#include "reload/reload_status.hpp"
#include "reload/reloader.hpp"
#include "test_policy_support.hpp"

using namespace pbxgate;
using pbxgate::test::file_map;
using pbxgate::test::memory_reader;

namespace {

const std::string top = "/etc/pbxgate/site.toml";

// udp 40000 for the given zones; `extra` appended verbatim.
std::string probe_file(const std::string& allow, const std::string& extra = "") {
    return "[services.probe]\nproto = \"udp\"\nports = [40000]\nallow = [" + allow + "]\n" + extra;
}

std::unique_ptr<const compiled_policy> compile_file(const std::string& text) {
    const load_result r = load_policy(top, memory_reader({{top, text}}));
    REQUIRE(r.ok());
    return compiled_policy::compile(*r.value);
}

verdict judge_udp_40000_from_internet(const compiled_policy& p) {
    packet_view v;
    v.family = ip_family::v4;
    v.protocol = IPPROTO_UDP;
    v.src = *parse_address("203.0.113.9");
    v.dst = *parse_address("192.0.2.1");
    v.sport = 50000;
    v.dport = 40000;
    v.has_ports = true;
    return p.classify(v, {}).action;
}

// A policy of enabled services named `names` (each on its own udp port), for id tests.
policy services_named(const std::vector<std::string>& names) {
    policy p;
    std::uint16_t port = 1000;
    for (const std::string& n : names) {
        service_def s;
        s.name = n;
        s.ports = {{port, port}};
        ++port;
        s.allow = all_allowable_zones;
        p.services.push_back(s);
    }
    return p;
}

service_id id_of(const compiled_policy& c, const std::string& name) {
    for (std::size_t id = 1; id < c.service_id_limit(); ++id)
        if (c.is_active(static_cast<service_id>(id)) && c.service_name(static_cast<service_id>(id)) == name)
            return static_cast<service_id>(id);
    return no_service_id;
}

}  // namespace

TEST_CASE("a refused reload keeps the running generation and says where", "[reload]") {
    struct row {
        const char* what;
        file_map files;  // what the reader sees at reload time
        std::uint32_t line, column;  // of the first error; 0 when it has no position
    };
    const std::vector<row> rows = {
        {"TOML syntax", {{top, "[services.probe\nproto = \"udp\"\n"}}, 1, 16},
        {"port out of range", {{top, "[services.probe]\nproto = \"udp\"\nports = [70000]\nallow = [\"lan\"]\n"}}, 3, 10},
        {"unknown zone", {{top, probe_file("\"galaxy\"")}}, 4, 10},
        {"unknown key", {{top, probe_file("\"internet\"", "colour = \"red\"\n")}}, 5, 1},
        {"extends a missing file", {{top, "extends = \"base.toml\"\n" + probe_file("\"internet\"")}}, 1, 1},
        {"file deleted", {}, 0, 0},
    };
    for (const row& r : rows) {
        INFO(r.what);
        policy_slot slot(compile_file(probe_file("\"lan\"")));
        const published_policy* before = slot.current();
        const reload_outcome out = reload_policy(top, slot, memory_reader(r.files));
        CHECK_FALSE(out.ok);
        REQUIRE_FALSE(out.errors.empty());
        INFO(out.errors.front().to_string());
        CHECK(out.errors.front().where.file == top);
        CHECK(out.errors.front().where.line == r.line);
        CHECK(out.errors.front().where.column == r.column);
        CHECK(out.generation == 1);
        // Nothing was published: the very same object is in force, still closed to internet.
        CHECK(slot.current() == before);
        CHECK(slot.generation() == 1);
        CHECK(judge_udp_40000_from_internet(*slot.current()->policy) == verdict::drop);
        CHECK(out.files == std::vector<std::string>{top});  // still watched, so a fix is seen
    }
}

TEST_CASE("fixing a refused file later reloads it", "[reload]") {
    policy_slot slot(compile_file(probe_file("\"lan\"")));
    const reload_outcome broken = reload_policy(top, slot, memory_reader({{top, probe_file("\"galaxy\"")}}));
    REQUIRE_FALSE(broken.ok);
    const reload_outcome fixed = reload_policy(top, slot, memory_reader({{top, probe_file("\"lan\", \"internet\"")}}));
    REQUIRE(fixed.ok);
    CHECK(fixed.generation == 2);
    CHECK(slot.generation() == 2);
    CHECK(judge_udp_40000_from_internet(*slot.current()->policy) == verdict::accept);
    CHECK(fixed.summary == "probe allow lan -> lan, internet");
}

TEST_CASE("a reload follows a changed extends chain", "[reload]") {
    const std::string base = "/etc/pbxgate/base.toml", other = "/etc/pbxgate/other.toml";
    policy_slot slot(compile_file(probe_file("\"lan\"")));
    const reload_outcome r = reload_policy(
        top, slot,
        memory_reader({{top, "extends = \"other.toml\"\n"}, {other, "extends = \"base.toml\"\n"}, {base, probe_file("\"lan\"")}}));
    REQUIRE(r.ok);
    CHECK(r.files == std::vector<std::string>{top, other, base});
}

TEST_CASE("service ids are stable across reloads", "[reload][ids]") {
    // Each step is the next generation's services; the ids expected for them.
    struct step {
        std::vector<std::string> services;
        std::vector<int> ids;
    };
    const std::vector<step> steps = {
        {{"a", "b", "c"}, {1, 2, 3}},
        {{"c", "a", "b"}, {3, 1, 2}},       // reordered: ids follow names
        {{"a", "c"}, {1, 3}},               // b removed: its id retires
        {{"a", "c", "d"}, {1, 3, 4}},       // new: a fresh id, never b's
        {{"b", "a", "c", "d"}, {2, 1, 3, 4}},  // b back: its own id again
        {{"e", "d"}, {5, 4}},
    };
    std::unique_ptr<const compiled_policy> previous;
    for (std::size_t i = 0; i < steps.size(); ++i) {
        INFO("generation " << i + 1);
        auto next = compiled_policy::compile(services_named(steps[i].services), previous.get());
        CHECK(next->service_count() == steps[i].services.size());
        for (std::size_t k = 0; k < steps[i].services.size(); ++k) {
            INFO(steps[i].services[k]);
            CHECK(id_of(*next, steps[i].services[k]) == steps[i].ids[k]);
            // The port tables use the same id.
            CHECK(next->service_for(IPPROTO_UDP, static_cast<std::uint16_t>(1000 + k)) == steps[i].ids[k]);
        }
        previous = std::move(next);
    }
    // A retired id keeps its name, so counters kept under it stay labelled.
    CHECK(previous->service_name(2) == "b");
    CHECK_FALSE(previous->is_active(2));
    CHECK(previous->service_name(200).empty());
}

TEST_CASE("when every id has been used, a retired one is reused", "[reload][ids]") {
    std::vector<std::string> names;
    for (int i = 0; i < 255; ++i) names.push_back("s" + std::to_string(i));
    const auto full = compiled_policy::compile(services_named(names));
    CHECK(full->service_id_limit() == 256);
    names.erase(names.begin() + 9);  // s9 (id 10) goes
    names.push_back("fresh");
    const auto next = compiled_policy::compile(services_named(names), full.get());
    CHECK(id_of(*next, "fresh") == 10);
    CHECK(id_of(*next, "s10") == 11);
    CHECK(id_of(*next, "s254") == 255);
    names.push_back("one-too-many");
    CHECK_THROWS_AS(compiled_policy::compile(services_named(names), next.get()), std::invalid_argument);
}

TEST_CASE("a reload keeps the ids of the services that stay", "[reload][ids]") {
    policy_slot slot(compile_file(probe_file("\"lan\"", "[services.other]\nproto = \"tcp\"\nports = [41000]\nallow = [\"lan\"]\n")));
    const service_id other = id_of(*slot.current()->policy, "other");
    // A file that lists a new service first: a fresh compile would give it id 1.
    const std::string next = "[services.newcomer]\nproto = \"tcp\"\nports = [42000]\nallow = [\"lan\"]\n" +
                             probe_file("\"internet\"", "[services.other]\nproto = \"tcp\"\nports = [41000]\nallow = [\"lan\"]\n");
    REQUIRE(reload_policy(top, slot, memory_reader({{top, next}})).ok);
    CHECK(id_of(*slot.current()->policy, "probe") == 1);
    CHECK(id_of(*slot.current()->policy, "other") == other);
    CHECK(id_of(*slot.current()->policy, "newcomer") == 3);
}

TEST_CASE("the reload status file round-trips and rejects what is not one", "[reload][status]") {
    reload_status s;
    s.pid = 4242;
    s.attempts = 7;
    s.signal_attempts = 3;
    s.trigger = reload_trigger::signal;
    s.ok = false;
    s.generation = 5;
    s.time = 1795844400;
    s.summary = "two\nlines";
    s.errors = {"site.toml:4:9: error: port 70000 is out of range", "site.toml:5:1: error: unknown key"};
    const auto back = parse_reload_status(format_reload_status(s));
    REQUIRE(back);
    CHECK(back->pid == 4242);
    CHECK(back->attempts == 7);
    CHECK(back->signal_attempts == 3);
    CHECK(back->trigger == reload_trigger::signal);
    CHECK_FALSE(back->ok);
    CHECK(back->generation == 5);
    CHECK(back->time == 1795844400);
    CHECK(back->summary == "two lines");
    CHECK(back->errors == s.errors);

    const std::vector<std::string> not_status = {
        "", "4242\n", "pid x\nattempts 1\nsignal_attempts 0\nok 1\ngeneration 1\n",
        "pid 1\nattempts 1\nsignal_attempts 0\nok 2\ngeneration 1\n",
        "pid 1\nattempts 1\nok 1\ngeneration 1\n",  // a required key missing
        "pid 1\nattempts 1\nsignal_attempts 0\nok 1\ngeneration 1\ntrigger cosmic-ray\n"};
    for (const std::string& text : not_status) {
        INFO(text);
        CHECK_FALSE(parse_reload_status(text));
    }
}

TEST_CASE("the reload status file sits beside the pid file", "[reload][status]") {
    struct row {
        const char* pid_file;
        const char* status;
    };
    const std::vector<row> rows = {
        {"/run/pbxgate.pid", "/run/pbxgate.reload-status"},
        {"/tmp/x/engine", "/tmp/x/engine.reload-status"},
        {".pid", ".pid.reload-status"},
    };
    for (const row& r : rows) {
        INFO(r.pid_file);
        CHECK(reload_status_path(r.pid_file) == r.status);
    }
}

TEST_CASE("reloads under concurrent readers: every burst is one whole generation", "[reload][rcu]") {
    policy_slot slot(compile_file(probe_file("\"lan\"")));
    std::atomic<bool> stop{false};
    std::atomic<int> mismatches{0};
    std::atomic<std::uint64_t> bursts{0};
    auto reader = [&] {
        qsbr_reader registration;
        std::uint64_t last = 0;
        while (!stop.load(std::memory_order_relaxed)) {
            const published_policy* pub = slot.current();
            if (pub->generation < last) ++mismatches;
            last = pub->generation;
            // The tables and the source they were compiled from agree, all burst long.
            const bool open = (pub->policy->source().services.front().allow & zone_bit(zone::internet)) != 0;
            for (int i = 0; i < 64; ++i)
                if ((judge_udp_40000_from_internet(*pub->policy) == verdict::accept) != open) ++mismatches;
            ++bursts;
            qsbr_reader::quiescent();
        }
        qsbr_reader::offline();
    };
    std::vector<std::thread> readers;
    for (int i = 0; i < 2; ++i) readers.emplace_back(reader);
    std::uint64_t expected = 1;
    for (int i = 0; i < 60; ++i) {
        // Let the readers run a burst between reloads (bounded: they may be descheduled).
        const std::uint64_t seen = bursts.load();
        const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(1);
        while (bursts.load() == seen && std::chrono::steady_clock::now() < give_up) std::this_thread::yield();
        // Every third file is broken: it must change nothing.
        const bool broken = i % 3 == 2;
        const std::string text = broken ? probe_file("\"galaxy\"") : probe_file(i % 2 ? "\"lan\"" : "\"internet\"");
        const reload_outcome r = reload_policy(top, slot, memory_reader({{top, text}}));
        CHECK(r.ok == !broken);
        if (!broken) ++expected;
        CHECK(r.generation == expected);
    }
    stop = true;
    for (auto& t : readers) t.join();
    CHECK(mismatches.load() == 0);
    CHECK(bursts.load() > 0);
    CHECK(slot.generation() == expected);
}
