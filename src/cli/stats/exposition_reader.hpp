// Reading the Prometheus text format back (for `pbxgate stats`): samples with their
// labels, comments skipped. Strict enough for our own output; not a general scraper.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pbxgate {

struct metric_sample {
    std::string name;
    std::map<std::string, std::string> labels;
    double value = 0;
};

// Returns nullopt (and the offending line in *bad_line) on a line that is not a sample.
std::optional<std::vector<metric_sample>> read_exposition(std::string_view text, std::string* bad_line = nullptr);

}  // namespace pbxgate
