// A small JSON reader for the control socket's line protocol: the engine parses requests
// with it, `pbxgate bans` parses the answers. Bounded: nesting depth and input size are
// limited by the caller and here, and bad input gives an error with its byte offset.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pbxgate {

class json_value {
public:
    enum class kind : std::uint8_t { null, boolean, number, string, array, object };

    json_value() = default;
    static json_value make_bool(bool b);
    static json_value make_number(double d);
    static json_value make_string(std::string s);

    kind type() const noexcept { return kind_; }
    bool is_null() const noexcept { return kind_ == kind::null; }
    bool is_string() const noexcept { return kind_ == kind::string; }
    bool is_number() const noexcept { return kind_ == kind::number; }
    bool is_bool() const noexcept { return kind_ == kind::boolean; }
    bool is_array() const noexcept { return kind_ == kind::array; }
    bool is_object() const noexcept { return kind_ == kind::object; }

    bool as_bool() const noexcept { return bool_; }
    double as_number() const noexcept { return number_; }
    // The number as an integer, when it is one that fits in int64 (no fraction).
    std::optional<std::int64_t> as_integer() const noexcept;
    const std::string& as_string() const noexcept { return string_; }
    const std::vector<json_value>& items() const noexcept { return items_; }
    const std::map<std::string, json_value, std::less<>>& members() const noexcept { return members_; }
    // The member named `key` of an object, or nullptr (also when this is no object).
    const json_value* find(std::string_view key) const noexcept;

private:
    friend class json_reader;
    kind kind_ = kind::null;
    bool bool_ = false;
    double number_ = 0;
    std::string string_;
    std::vector<json_value> items_;
    std::map<std::string, json_value, std::less<>> members_;
};

struct json_parse_result {
    std::optional<json_value> value;
    std::string error;  // "offset N: what", when value is empty
};

// One JSON document (surrounding white space allowed, nothing else after it).
json_parse_result parse_json(std::string_view text);

inline constexpr int json_max_depth = 32;

}  // namespace pbxgate
