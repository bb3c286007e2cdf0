#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "queue/kernel_queue_stats.hpp"

using namespace pbxgate;

TEST_CASE("kernel queue stats: /proc/net/netfilter/nfnetlink_queue lines", "[queue][proc]") {
    struct row {
        const char* line;
        bool ok;
        kernel_queue_stats want{};
    };
    const row rows[] = {
        // The kernel's format: "%5u %6u %5u %1u %5u %5u %5u %8u %2d\n"
        {"    0 2937271     0 2 65535     0     0       17  1", true, {0, 2937271, 0, 2, 65535, 0, 0, 17, }},
        {"   12   4242   310 2  1500    99     7 4294967295  1\n", true, {12, 4242, 310, 2, 1500, 99, 7, 4294967295u}},
        {"1 2 3 1 4 5 6 7", true, {1, 2, 3, 1, 4, 5, 6, 7}},  // without the trailing constant
        {"1\t2 3 1 4 5 6 7 1", true, {1, 2, 3, 1, 4, 5, 6, 7}},
        {"", false},
        {"    0 2937271     0 2 65535     0     0", false},        // seven fields
        {"1 2 3 1 4 5 6 7 1 9", false},                         // ten fields
        {"1 2 3 1 4 5 6 x 1", false},
        {"1 2 3 1 4 5 6 -7 1", false},
        {"1 2 3 1 4 5 6 4294967296 1", false},                 // beyond u32
        {"1 2 3 1 4 5 6 7z 1", false},
    };
    for (const auto& r : rows) {
        INFO('"' << r.line << '"');
        const auto got = parse_kernel_queue_line(r.line);
        REQUIRE(got.has_value() == r.ok);
        if (!r.ok) continue;
        CHECK(got->queue_num == r.want.queue_num);
        CHECK(got->portid == r.want.portid);
        CHECK(got->queue_total == r.want.queue_total);
        CHECK(got->copy_mode == r.want.copy_mode);
        CHECK(got->copy_range == r.want.copy_range);
        CHECK(got->queue_dropped == r.want.queue_dropped);
        CHECK(got->user_dropped == r.want.user_dropped);
        CHECK(got->id_sequence == r.want.id_sequence);
    }
}

TEST_CASE("kernel queue stats: reading a file skips bad lines, a missing file says so", "[queue][proc]") {
    const std::string path = (std::filesystem::temp_directory_path() / "pbxgate-test-nfq-proc.txt").string();
    {
        std::ofstream f(path);
        f << "    0  100     2 2 65535     0     0       17  1\n"
          << "garbage\n"
          << "    1  101     0 2   128     4     5        9  1\n";
    }
    std::string err;
    const auto all = read_kernel_queue_stats(path, &err);
    std::remove(path.c_str());
    REQUIRE(all.has_value());
    REQUIRE(all->size() == 2);
    CHECK((*all)[0].queue_total == 2);
    CHECK((*all)[1].queue_num == 1);
    CHECK((*all)[1].user_dropped == 5);

    const auto none = read_kernel_queue_stats("/nonexistent/nfnetlink_queue", &err);
    CHECK_FALSE(none.has_value());
    CHECK(err.find("/nonexistent/nfnetlink_queue") != std::string::npos);
}
