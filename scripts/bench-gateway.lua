-- wrk script for `scripts/bench gateway`: POST /v1/jobs with the token from $TOKEN, and one
-- JSON line of results at the end.
wrk.method = "POST"
wrk.path = "/v1/jobs"
wrk.body = '{"kind":"noop","action":"noop.run"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")

done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format('{"requests":%d,"duration_us":%d,"socket_errors":%d,"non_2xx":%d,"p50_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration, errors, summary.errors.status, latency:percentile(50), latency:percentile(99)))
end
