// A minimal JSON writer for the CLI's machine-readable output: objects, arrays, strings
// (escaped), integers, doubles, booleans and null. Keys are written in call order.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace pbxgate {

class json_writer {
public:
    json_writer& begin_object();
    json_writer& end_object();
    json_writer& begin_array();
    json_writer& end_array();
    json_writer& key(std::string_view k);
    json_writer& value(std::string_view s);
    json_writer& value(const char* s) { return value(std::string_view{s}); }
    json_writer& value(std::uint64_t n);
    json_writer& value(double d);
    json_writer& value(bool b);
    json_writer& null();
    const std::string& str() const noexcept { return out_; }

private:
    void separate();
    std::string out_;
    bool need_comma_ = false;
};

// `s` as a JSON string literal, quotes included.
void append_json_string(std::string& out, std::string_view s);
// `s` escaped for the inside of a JSON string literal, without the quotes.
void append_json_escaped(std::string& out, std::string_view s);

}  // namespace pbxgate
