// `pbxgate stats`: the metrics endpoint's numbers as tables a person reads.
#pragma once

#include <string>
#include <vector>

#include "cli/stats/exposition_reader.hpp"

namespace pbxgate {

// Rows with only zeros are left out; the totals come first.
std::string format_stats_table(const std::vector<metric_sample>& samples);

}  // namespace pbxgate
