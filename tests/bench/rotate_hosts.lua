-- wrk script: every request goes to a random one of the seeded tenants' hostnames,
-- so the resolver cache and the per-tenant rendering are exercised across tenants.
local tenants = tonumber(os.getenv("BENCH_TENANTS") or "10000")
request = function()
  wrk.headers["Host"] = "b" .. math.random(0, tenants - 1) .. ".bench.test"
  return wrk.format("GET", "/")
end
