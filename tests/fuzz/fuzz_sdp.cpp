// Fuzz target: the SDP reader (attacker-written bodies of INVITEs and answers) and, with
// the same bytes, the pinhole table it feeds. Checks, beyond "no crash, no sanitizer
// report": every view points inside the input, counts stay within their bounds.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_support.hpp"
#include "media/pinhole_table.hpp"
#include "sip/sdp.hpp"

using namespace pbxgate;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    sip::sdp_view v;
    const sip::sdp_status st = sip::parse_sdp(body, v);
    FUZZ_CHECK(static_cast<unsigned>(st) <= static_cast<unsigned>(sip::sdp_status::not_sdp));
    FUZZ_CHECK(v.stream_count <= sip::max_sdp_streams);
    for (std::size_t i = 0; i < v.stream_count; ++i) {
        fuzz::check_inside(v.streams[i].transport, data, size);
        fuzz::check_inside(v.streams[i].mid, data, size);
    }
    (void)sip::is_sdp_content_type(body);
    if (st != sip::sdp_status::ok) return 0;
    // Both sides of a call with this SDP, then a BYE: the table stays consistent.
    static media::pinhole_table table(1024);
    const ip_address peer = ip_address::v4(0xcb00710au);
    table.on_sdp(media::sdp_seen{body.substr(0, 16), false, peer, &v, 1});
    table.on_sdp(media::sdp_seen{body.substr(0, 16), true, peer, &v, 1});
    for (std::size_t i = 0; i < v.stream_count; ++i)
        (void)table.find(v.streams[i].port, v.streams[i].address, 2, media::timeouts{});
    table.on_dialog_end(body.substr(0, 16), 3, media::timeouts{0, 180});
    FUZZ_CHECK(table.counts(4, media::timeouts{}).pinholes <= table.slot_count());
    return 0;
}
