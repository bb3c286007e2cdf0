#include "util/json_value.hpp"

#include <cmath>
#include <cstdlib>

namespace pbxgate {

json_value json_value::make_bool(bool b) {
    json_value v;
    v.kind_ = kind::boolean;
    v.bool_ = b;
    return v;
}

json_value json_value::make_number(double d) {
    json_value v;
    v.kind_ = kind::number;
    v.number_ = d;
    return v;
}

json_value json_value::make_string(std::string s) {
    json_value v;
    v.kind_ = kind::string;
    v.string_ = std::move(s);
    return v;
}

std::optional<std::int64_t> json_value::as_integer() const noexcept {
    if (kind_ != kind::number || !std::isfinite(number_) || std::trunc(number_) != number_) return std::nullopt;
    // 2^63 is exactly representable; anything at or above it does not fit.
    if (number_ >= 9223372036854775808.0 || number_ < -9223372036854775808.0) return std::nullopt;
    return static_cast<std::int64_t>(number_);
}

const json_value* json_value::find(std::string_view key) const noexcept {
    if (kind_ != kind::object) return nullptr;
    const auto it = members_.find(key);
    return it == members_.end() ? nullptr : &it->second;
}

class json_reader {
public:
    explicit json_reader(std::string_view text) : text_(text) {}

    json_parse_result run() {
        json_parse_result r;
        json_value v;
        skip_space();
        if (!read_value(v, 0)) {
            r.error = "offset " + std::to_string(pos_) + ": " + error_;
            return r;
        }
        skip_space();
        if (pos_ != text_.size()) {
            r.error = "offset " + std::to_string(pos_) + ": unexpected text after the JSON value";
            return r;
        }
        r.value = std::move(v);
        return r;
    }

private:
    bool fail(const char* why) {
        error_ = why;
        return false;
    }
    void skip_space() {
        while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r'))
            ++pos_;
    }
    bool literal(std::string_view word) {
        if (text_.substr(pos_, word.size()) != word) return fail("unknown literal");
        pos_ += word.size();
        return true;
    }

    bool read_value(json_value& v, int depth) {
        if (depth >= json_max_depth) return fail("nested too deep");
        if (pos_ >= text_.size()) return fail("unexpected end of input");
        switch (text_[pos_]) {
            case '{': return read_object(v, depth);
            case '[': return read_array(v, depth);
            case '"': v.kind_ = json_value::kind::string; return read_string(v.string_);
            case 't': v = json_value::make_bool(true); return literal("true");
            case 'f': v = json_value::make_bool(false); return literal("false");
            case 'n': v = json_value{}; return literal("null");
            default: return read_number(v);
        }
    }

    bool read_object(json_value& v, int depth) {
        v.kind_ = json_value::kind::object;
        ++pos_;
        skip_space();
        if (pos_ < text_.size() && text_[pos_] == '}') {
            ++pos_;
            return true;
        }
        for (;;) {
            skip_space();
            if (pos_ >= text_.size() || text_[pos_] != '"') return fail("expected a string key");
            std::string key;
            if (!read_string(key)) return false;
            skip_space();
            if (pos_ >= text_.size() || text_[pos_] != ':') return fail("expected ':'");
            ++pos_;
            skip_space();
            json_value member;
            if (!read_value(member, depth + 1)) return false;
            if (!v.members_.emplace(std::move(key), std::move(member)).second) return fail("duplicate key");
            skip_space();
            if (pos_ < text_.size() && text_[pos_] == ',') {
                ++pos_;
                continue;
            }
            if (pos_ < text_.size() && text_[pos_] == '}') {
                ++pos_;
                return true;
            }
            return fail("expected ',' or '}'");
        }
    }

    bool read_array(json_value& v, int depth) {
        v.kind_ = json_value::kind::array;
        ++pos_;
        skip_space();
        if (pos_ < text_.size() && text_[pos_] == ']') {
            ++pos_;
            return true;
        }
        for (;;) {
            skip_space();
            json_value item;
            if (!read_value(item, depth + 1)) return false;
            v.items_.push_back(std::move(item));
            skip_space();
            if (pos_ < text_.size() && text_[pos_] == ',') {
                ++pos_;
                continue;
            }
            if (pos_ < text_.size() && text_[pos_] == ']') {
                ++pos_;
                return true;
            }
            return fail("expected ',' or ']'");
        }
    }

    static int hex(char c) {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    }
    bool read_hex4(unsigned& out) {
        if (text_.size() - pos_ < 4) return fail("short \\u escape");
        out = 0;
        for (int i = 0; i < 4; ++i) {
            const int h = hex(text_[pos_++]);
            if (h < 0) return fail("bad \\u escape");
            out = out * 16 + static_cast<unsigned>(h);
        }
        return true;
    }
    static void append_utf8(std::string& s, unsigned cp) {
        if (cp < 0x80) {
            s += static_cast<char>(cp);
        } else if (cp < 0x800) {
            s += static_cast<char>(0xC0 | (cp >> 6));
            s += static_cast<char>(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            s += static_cast<char>(0xE0 | (cp >> 12));
            s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            s += static_cast<char>(0x80 | (cp & 0x3F));
        } else {
            s += static_cast<char>(0xF0 | (cp >> 18));
            s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
            s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            s += static_cast<char>(0x80 | (cp & 0x3F));
        }
    }

    bool read_string(std::string& out) {
        ++pos_;  // the opening quote
        for (;;) {
            if (pos_ >= text_.size()) return fail("unterminated string");
            const char c = text_[pos_++];
            if (c == '"') return true;
            if (static_cast<unsigned char>(c) < 0x20) return fail("control character in a string");
            if (c != '\\') {
                out += c;
                continue;
            }
            if (pos_ >= text_.size()) return fail("unterminated string");
            const char e = text_[pos_++];
            switch (e) {
                case '"': out += '"'; break;
                case '\\': out += '\\'; break;
                case '/': out += '/'; break;
                case 'b': out += '\b'; break;
                case 'f': out += '\f'; break;
                case 'n': out += '\n'; break;
                case 'r': out += '\r'; break;
                case 't': out += '\t'; break;
                case 'u': {
                    unsigned cp = 0;
                    if (!read_hex4(cp)) return false;
                    if (cp >= 0xD800 && cp < 0xDC00) {  // a surrogate pair names one code point
                        unsigned low = 0;
                        if (text_.substr(pos_, 2) != "\\u") return fail("lone surrogate");
                        pos_ += 2;
                        if (!read_hex4(low)) return false;
                        if (low < 0xDC00 || low >= 0xE000) return fail("lone surrogate");
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                    } else if (cp >= 0xDC00 && cp < 0xE000) {
                        return fail("lone surrogate");
                    }
                    append_utf8(out, cp);
                    break;
                }
                default: return fail("bad escape");
            }
        }
    }

    bool read_number(json_value& v) {
        const std::size_t start = pos_;
        if (pos_ < text_.size() && text_[pos_] == '-') ++pos_;
        const std::size_t digits = pos_;
        while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
        if (pos_ == digits) return fail("expected a value");
        if (text_[digits] == '0' && pos_ - digits > 1) return fail("leading zero in a number");
        if (pos_ < text_.size() && text_[pos_] == '.') {
            ++pos_;
            const std::size_t frac = pos_;
            while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
            if (pos_ == frac) return fail("expected digits after '.'");
        }
        if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
            ++pos_;
            if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
            const std::size_t exp = pos_;
            while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
            if (pos_ == exp) return fail("expected digits in the exponent");
        }
        // strtod needs a terminated string; numbers are short.
        const std::string copy(text_.substr(start, pos_ - start));
        v = json_value::make_number(std::strtod(copy.c_str(), nullptr));
        return true;
    }

    std::string_view text_;
    std::size_t pos_ = 0;
    std::string error_;
};

json_parse_result parse_json(std::string_view text) { return json_reader(text).run(); }

}  // namespace pbxgate
