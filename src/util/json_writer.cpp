#include "util/json_writer.hpp"

#include <cmath>
#include <cstdio>

namespace pbxgate {

void append_json_escaped(std::string& out, std::string_view s) {
    for (const char c : s) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
                    out += buf;
                } else {
                    out += c;
                }
        }
    }
}

void append_json_string(std::string& out, std::string_view s) {
    out += '"';
    append_json_escaped(out, s);
    out += '"';
}

void json_writer::separate() {
    if (need_comma_) out_ += ',';
    need_comma_ = true;
}

json_writer& json_writer::begin_object() { separate(); out_ += '{'; need_comma_ = false; return *this; }
json_writer& json_writer::end_object() { out_ += '}'; need_comma_ = true; return *this; }
json_writer& json_writer::begin_array() { separate(); out_ += '['; need_comma_ = false; return *this; }
json_writer& json_writer::end_array() { out_ += ']'; need_comma_ = true; return *this; }

json_writer& json_writer::key(std::string_view k) {
    separate();
    append_json_string(out_, k);
    out_ += ':';
    need_comma_ = false;  // the value follows without a comma
    return *this;
}

json_writer& json_writer::value(std::string_view s) { separate(); append_json_string(out_, s); return *this; }
json_writer& json_writer::value(std::uint64_t n) { separate(); out_ += std::to_string(n); return *this; }
json_writer& json_writer::value(bool b) { separate(); out_ += b ? "true" : "false"; return *this; }
json_writer& json_writer::null() { separate(); out_ += "null"; return *this; }

json_writer& json_writer::value(double d) {
    separate();
    if (!std::isfinite(d)) { out_ += "null"; return *this; }
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", d);
    out_ += buf;
    return *this;
}

}  // namespace pbxgate
