#pragma once
// Reading numbers out of a Prometheus text-format scrape of /metrics.

#include <string>

namespace progress::test {

// Sum of every series of `name` (with or without labels).
[[nodiscard]] double metric_total(const std::string& scrape, const std::string& name);

// Sum of the labelled series of `name` whose label set contains `label`,
// e.g. R"(reason="slow_consumer")".
[[nodiscard]] double metric_with_label(const std::string& scrape, const std::string& name,
                                       const std::string& label);

}  // namespace progress::test
