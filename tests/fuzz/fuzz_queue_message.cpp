// Fuzz target: the NFQUEUE message parser, fed what a hostile or buggy kernel could send
// (netlink header, nfgenmsg, attributes with any length). A message that parses is then
// handed to the packet parser, as the worker does. Checks: the packet points inside the
// message, its lengths agree, and a failure still reports whether the id is known.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"
#include "pbxgate/packet.hpp"
#include "queue/queue_message.hpp"

using namespace pbxgate;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const auto policy = fuzz::compile_embedded(fuzz::testbed_path);
    received_packet p;
    const queue_parse_result r = parse_queue_message(data, size, p, 1);
    FUZZ_CHECK(static_cast<unsigned>(r.status) <= static_cast<unsigned>(queue_parse_status::bad_capture_length));
    if (!r.ok()) return 0;
    FUZZ_CHECK(r.id_known);
    FUZZ_CHECK(p.data != nullptr && p.data >= data && p.data + p.captured_len <= data + size);
    FUZZ_CHECK(p.wire_len >= p.captured_len);
    FUZZ_CHECK(p.meta.from_loopback_interface == (p.indev == 1));
    packet_view v;
    parse_ip_packet(p.data, p.captured_len, p.wire_len, v);
    const decision d = policy->classify(v, p.meta);
    if (!v.ok()) FUZZ_CHECK(d.why == reason::malformed);
    return 0;
}
