-- wrk script for scenario S5: GET the latest state of a random user's job with an admin
-- token, and print the result as one JSON line (bench/run.sh reads it).
local users = tonumber(os.getenv("USERS")) or 1
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("TOKEN") or "")
math.randomseed(7)

request = function()
  return wrk.format("GET", "/api/v1/users/u" .. math.random(0, users - 1) .. "/jobs/j0")
end

done = function(summary, latency, requests)
  local ms = function(us) return us / 1000.0 end
  local errors = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_s":%.3f,"rps":%.1f,"errors":%d,"non2xx":%d,' ..
    '"p50":%.3f,"p90":%.3f,"p99":%.3f,"p999":%.3f,"max":%.3f}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    errors.connect + errors.read + errors.write + errors.timeout, errors.status,
    ms(latency:percentile(50)), ms(latency:percentile(90)), ms(latency:percentile(99)),
    ms(latency:percentile(99.9)), ms(latency.max)))
end
