#include "open_file_limit.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

namespace progress::bridge {

descriptor_budget fit_open_file_limit(std::size_t max_connections) {
  const std::uint64_t needed = max_connections + descriptors_besides_connections;
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    spdlog::warn("cannot read the open-file limit ({}); assuming it fits --max-connections {}",
                 std::strerror(errno), max_connections);
    return {max_connections, needed};
  }
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < needed) {
    const rlim_t wanted = limit.rlim_max == RLIM_INFINITY ? needed : std::min<rlim_t>(needed, limit.rlim_max);
    rlimit raised = limit;
    raised.rlim_cur = wanted;
    if (wanted > limit.rlim_cur && ::setrlimit(RLIMIT_NOFILE, &raised) == 0) {
      spdlog::info("open-file limit raised from {} to {}", limit.rlim_cur, wanted);
      limit = raised;
    }
  }
  if (limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur >= needed) {
    return {max_connections, limit.rlim_cur == RLIM_INFINITY ? needed : limit.rlim_cur};
  }
  const std::uint64_t soft = limit.rlim_cur;
  if (soft <= descriptors_besides_connections) {
    spdlog::critical(
        "open-file limit {} (hard limit {}) leaves no descriptor for connections: the bridge "
        "needs {} besides them; raise it (ulimit -n, LimitNOFILE=)",
        soft, limit.rlim_max, descriptors_besides_connections);
    return {0, soft};
  }
  const auto fitting = static_cast<std::size_t>(soft - descriptors_besides_connections);
  spdlog::warn(
      "open-file limit {} (hard limit {}) is below the {} that --max-connections {} needs: serving at "
      "most {} connections; raise the hard limit (ulimit -Hn, LimitNOFILE=) to serve more",
      soft, limit.rlim_max, needed, max_connections, fitting);
  return {fitting, soft};
}

}  // namespace progress::bridge
