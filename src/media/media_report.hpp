// Text about pinholes for people: the note of a no_pinhole drop line, and the JSON of the
// control socket's media.pinholes command (read by `pbxgate explain --media`). Off the
// packet path; allocates.
#pragma once

#include <cstdint>
#include <string>

#include "media/pinhole_table.hpp"

namespace pbxgate::media {

// "from 203.0.113.9, expected 198.51.100.7 for the call Call-ID abc@pbx" when another
// remote holds a pinhole on that PBX port; "no pinhole on port 10000" when none does.
std::string no_pinhole_note(const pinhole_table& table, std::uint16_t port, const ip_address& src, seconds_t now,
                            const timeouts& t);

// {"now":N,"grace_s":5,"idle_s":180,"counts":{...},"pinholes":[{...}]}
std::string pinholes_json(const pinhole_table& table, seconds_t now, const timeouts& t);

}  // namespace pbxgate::media
