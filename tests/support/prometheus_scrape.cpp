#include "prometheus_scrape.hpp"

#include <sstream>

namespace progress::test {

double metric_total(const std::string& scrape, const std::string& name) {
  double total = 0;
  std::istringstream lines{scrape};
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with(name)) continue;
    const auto rest = line.substr(name.size());
    if (!rest.empty() && rest[0] != ' ' && rest[0] != '{') continue;
    total += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return total;
}

double metric_with_label(const std::string& scrape, const std::string& name, const std::string& label) {
  double total = 0;
  std::istringstream lines{scrape};
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with(name + "{") || line.find(label) == std::string::npos) continue;
    total += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return total;
}

}  // namespace progress::test
