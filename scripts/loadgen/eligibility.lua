-- wrk script for the eligibility benchmark: POSTs an eligibility check (or,
-- with PATH set, the same body to another path) for the personal codes in
-- the file CODES_FILE, one after the other. With CYCLE=1 the codes are used
-- round and round (a warm cache); otherwise each code once per run, so
-- that every request asks about a new person (a cold cache). Use one wrk
-- thread: each thread has its own list position.
local codes = {}
local i = 0
local cycle = os.getenv("CYCLE") == "1"
local path = os.getenv("REQ_PATH") or "/v1/eligibility"

local warned = false

init = function(args)
  wrk.headers["Content-Type"] = "application/json"
  for line in io.lines(os.getenv("CODES_FILE")) do
    if #line > 0 then codes[#codes + 1] = line end
  end
end

request = function()
  i = i + 1
  if i > #codes then
    if not cycle and not warned then
      io.stderr:write("eligibility.lua: ran out of personal codes; the last requests repeat persons\n")
      warned = true
    end
    i = 1
  end
  local body = '{"person":{"personCode":"' .. codes[i] .. '"},"pointOfSale":{"id":"bench-pos","terminalId":"t1"},' ..
    '"lines":[{"lineId":"1","goodsCode":"transport.ride","quantity":1,"amountCents":150}]}'
  return wrk.format("POST", path, nil, body)
end
