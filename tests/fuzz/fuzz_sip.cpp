// Fuzz target: the SIP message reader, which reads attacker-written text on every SIP packet.
// Checks, beyond "no crash, no sanitizer report": every view points inside the input.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_support.hpp"
#include "sip/sip_message.hpp"

using namespace pbxgate;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    sip::message_view m;
    const sip::parse_status st = sip::parse_message(data, size, m);
    FUZZ_CHECK(static_cast<unsigned>(st) <= static_cast<unsigned>(sip::parse_status::too_many_headers));
    const sip::name_addr to = m.to();
    for (const std::string_view v : {m.method_token, m.request_uri, m.reason_phrase, m.via_branch, m.from.display,
                                     m.from.uri, m.from.user, m.from.tag, m.to_header, to.display, to.uri, to.user,
                                     to.tag, m.call_id, m.user_agent, m.server, m.contact, m.content_type, m.body})
        fuzz::check_inside(v, data, size);
    (void)m.granted_expiry();
    FUZZ_CHECK(m.header_count <= sip::max_headers);
    if (st == sip::parse_status::ok && !m.is_request) FUZZ_CHECK(m.status >= 100 && m.status <= 699);
    (void)sip::starts_message(data, size);
    return 0;
}
