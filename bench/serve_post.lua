-- wrk script for bench/serve_bench.sh: POSTs the image named by SATX_TILE as the body and
-- prints one machine-readable line at the end.
local file = assert(io.open(os.getenv("SATX_TILE"), "rb"))
wrk.method = "POST"
wrk.body = file:read("*all")
file:close()
wrk.headers["Content-Type"] = os.getenv("SATX_TILE_TYPE") or "image/jpeg"

done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format("RESULT requests=%d seconds=%.3f p50_ms=%.2f p99_ms=%.2f bad_status=%d socket_errors=%d\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    errors.status, errors.connect + errors.read + errors.write + errors.timeout))
end
