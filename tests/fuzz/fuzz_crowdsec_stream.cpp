// Fuzz target: one answer of CrowdSec's decision stream (JSON reader, decision fields, Go
// durations, Ip/Range values), applied to a small real ban table through the decision book,
// and the same bytes as a machine credentials file. Checks: the lists stay within the
// limit, every kept decision is a ban on a valid prefix, the book never holds more sources
// than its capacity, and a trusted address is never banned.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "crowdsec/credentials.hpp"
#include "crowdsec/decision_book.hpp"
#include "crowdsec/decision_stream.hpp"
#include "fuzz_support.hpp"
#include "protect/sip_guard.hpp"

using namespace pbxgate;

namespace {

constexpr std::size_t max_decisions = 64;
constexpr std::size_t book_capacity = 32;
constexpr std::int64_t now = 1'800'000'000;

// 198.51.100.0/24 trusted, the rest internet.
zone test_zone(const ip_address& a) {
    return a.family == ip_family::v4 && (a.v4_host() >> 8) == 0xc63364 ? zone::trusted : zone::internet;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    (void)crowdsec::parse_machine_credentials(text);
    const crowdsec::stream_parse_result r = crowdsec::parse_decision_stream(text, max_decisions);
    FUZZ_CHECK(r.delta.has_value() != !r.error.empty());
    if (!r.delta) return 0;
    FUZZ_CHECK(r.delta->added.size() <= max_decisions && r.delta->deleted.size() <= max_decisions);
    for (const auto* list : {&r.delta->added, &r.delta->deleted})
        for (const crowdsec::decision& d : *list)
            FUZZ_CHECK(d.target.length <= (d.target.address.family == ip_family::v4 ? 32 : 128));
    protect::sip_guard guard(1024, 32, 64, [] { return protect::seconds_t{1000}; });
    crowdsec::decision_book book(32, 64, book_capacity);
    book.apply(*r.delta, false, guard, &test_zone, now);
    book.apply(*r.delta, true, guard, &test_zone, now);
    FUZZ_CHECK(book.active(now) <= book_capacity);
    for (const protect::ban_view& b : guard.list_bans(now)) FUZZ_CHECK(test_zone(b.source.address) != zone::trusted);
    return 0;
}
