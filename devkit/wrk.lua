-- POST one fixed prediction request (GP_BODY, set by the harness from the default contract's
-- first example); print the latency percentiles the harness reads.
wrk.method = "POST"
wrk.body = assert(os.getenv("GP_BODY"), "GP_BODY is not set")
wrk.headers["Content-Type"] = "application/json"

done = function(summary, latency, requests)
  io.write(string.format("GP_RESULT requests=%d duration_us=%d p50_us=%d p95_us=%d p99_us=%d non2xx=%d errors=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
