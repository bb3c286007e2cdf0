// Small Catch2 helpers shared by unit tests: literal addresses and prefixes that must
// parse, and the active lines of generated rule text.
#pragma once

#include <catch2/catch.hpp>

#include <sstream>
#include <string>
#include <vector>

#include "pbxgate/address.hpp"

namespace pbxgate::test {

inline ip_prefix pfx(const char* text) {
    const auto p = parse_prefix(text);
    REQUIRE(p.has_value());
    return *p;
}

inline ip_address addr(const char* text) {
    const auto a = parse_address(text);
    REQUIRE(a.has_value());
    return *a;
}

// The lines that do something: no comments, no blank lines.
inline std::vector<std::string> rule_lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        const auto start = line.find_first_not_of(" \t");
        if (start == std::string::npos || line[start] == '#') continue;
        out.push_back(line.substr(start));
    }
    return out;
}

}  // namespace pbxgate::test
