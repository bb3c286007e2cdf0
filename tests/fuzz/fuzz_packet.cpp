// Fuzz target: the packet parser and the classifier, the first code a hostile packet reaches.
// The input is the packet from its IP header on. Checks, beyond "no crash, no sanitizer
// report": a parsed view points only inside the input, and every packet that failed to
// parse is dropped as malformed.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"
#include "pbxgate/packet.hpp"

using namespace pbxgate;

namespace {

void check_view(const packet_view& v, const std::uint8_t* data, std::size_t size) {
    if (!v.ok()) return;
    FUZZ_CHECK(v.l3_header_len <= size);
    FUZZ_CHECK(v.payload_len <= size);
    if (v.payload != nullptr) {
        FUZZ_CHECK(v.payload >= data + v.l3_header_len);
        FUZZ_CHECK(v.payload + v.payload_len <= data + size);
    }
    FUZZ_CHECK(v.family == ip_family::v4 || v.family == ip_family::v6);
}

void judge(const compiled_policy& policy, const packet_view& v) {
    for (const bool loopback : {false, true}) {
        packet_meta meta;
        meta.from_loopback_interface = loopback;
        const decision d = policy.classify(v, meta);
        if (!v.ok()) FUZZ_CHECK(d.action == verdict::drop && d.why == reason::malformed);
        if (d.action == verdict::accept && d.why == reason::allowed) FUZZ_CHECK(v.has_ports);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // Two shipped policies: host placement with zones (testbed) and the bare defaults.
    static const auto testbed = fuzz::compile_embedded(fuzz::testbed_path);
    static const auto freepbx = fuzz::compile_embedded(fuzz::freepbx_path);
    // Whole packet, then the same bytes as the head of a longer packet (copy_range cut).
    for (const std::size_t wire : {size, size + 1500}) {
        packet_view v;
        const parse_error e = parse_ip_packet(data, size, wire, v);
        FUZZ_CHECK(e == v.error);
        FUZZ_CHECK(static_cast<unsigned>(e) < parse_error_count);
        check_view(v, data, size);
        judge(*testbed, v);
        judge(*freepbx, v);
    }
    return 0;
}
