-- jobctl: verify-then-act on one batch of Resque failure entries, atomically.
--
-- Why a script: the failed list is addressed by index, and indexes shift whenever anything removes
-- an entry (the bug class behind resque #1172 / resque-web #121). jobctl reads a window with LRANGE,
-- decides in Python which entries to act on, and sends them here with the exact bytes it saw. The
-- script acts on an entry only if the list still holds exactly those bytes at that index; otherwise
-- it leaves it alone and reports it, and Python re-locates the entry and retries. Because Redis
-- runs a script atomically, every entry is either still failed or requeued exactly once, whatever
-- happens to the client (Ctrl-C, kill -9, connection loss).
--
-- The script never decodes or re-encodes JSON (cjson would change the bytes: [] -> {}, big ints,
-- "\/", key order). The payload pushed is a byte range of the verified entry, given by Python.
--
-- KEYS[1]      failure list (<ns>:failed or <ns>:<queue>_failed)
-- KEYS[2]      queue-name set (<ns>:queues)
-- KEYS[3..]    target queue lists (<ns>:queue:<name>), in the order of ARGV queue names below
-- ARGV[1]      mode: "move" (push payload, remove entry) | "keep" (push payload, replace entry
--              with the given bytes, e.g. with retried_at) | "discard" (remove entry only)
-- ARGV[2]      tombstone: a per-call unique value that no real entry can equal (starts with NUL)
-- ARGV[3]      lo: smallest index in this batch;  ARGV[4]: hi: largest index
-- ARGV[5]      number of target queues Q; ARGV[6 .. 5+Q]: their names (for SADD), same order as KEYS[3..]
-- then per entry, 5 values: index, expected bytes, payload start, payload end (1-based, inclusive;
--              0 0 for discard), target (1..Q; 0 for discard) -- and for "keep" a 6th: new bytes
--
-- Returns {statuses, removed}: statuses[i] = 1 acted, 0 entry not there any more (changed/moved).

local list = KEYS[1]
local mode = ARGV[1]
local tomb = ARGV[2]
local lo = tonumber(ARGV[3])
local hi = tonumber(ARGV[4])
local nq = tonumber(ARGV[5])
local per = 5
if mode == 'keep' then per = 6 end
local first = 6 + nq

local window = redis.call('LRANGE', list, lo, hi)
local statuses = {}
local pushes = {}
local removed = 0
local contiguous_head = (lo == 0)
local expect_next = 0

local n = (#ARGV - first + 1) / per
for i = 1, n do
  local p = first + (i - 1) * per
  local idx = tonumber(ARGV[p])
  local expected = ARGV[p + 1]
  if window[idx - lo + 1] == expected then
    statuses[i] = 1
    if mode ~= 'discard' then
      local t = tonumber(ARGV[p + 4])
      local bucket = pushes[t]
      if bucket == nil then
        bucket = {}
        pushes[t] = bucket
      end
      bucket[#bucket + 1] = string.sub(expected, tonumber(ARGV[p + 2]), tonumber(ARGV[p + 3]))
    end
    if mode == 'keep' then
      redis.call('LSET', list, idx, ARGV[p + 5])
    else
      if idx ~= expect_next then contiguous_head = false end
      expect_next = idx + 1
      removed = removed + 1
    end
  else
    statuses[i] = 0
    contiguous_head = false
  end
end

-- Push per target queue in batch order (one variadic RPUSH per queue keeps per-queue FIFO order).
for t = 1, nq do
  local bucket = pushes[t]
  if bucket ~= nil then
    for s = 1, #bucket, 1000 do
      redis.call('RPUSH', KEYS[2 + t], unpack(bucket, s, math.min(s + 999, #bucket)))
    end
    redis.call('SADD', KEYS[2], ARGV[5 + t])
  end
end

if removed > 0 then
  if contiguous_head then
    -- The batch is exactly the head of the list: drop it without scanning.
    redis.call('LTRIM', list, removed, -1)
  else
    -- Mark, then remove the marks with one LREM scanning from the nearer end (LREM compares
    -- element by element, so its cost is the distance from the end it starts at).
    for i = 1, n do
      if statuses[i] == 1 then
        redis.call('LSET', list, tonumber(ARGV[first + (i - 1) * per]), tomb)
      end
    end
    local len = redis.call('LLEN', list)
    if hi + 1 <= len - lo then
      redis.call('LREM', list, removed, tomb)
    else
      redis.call('LREM', list, -removed, tomb)
    end
  end
end

return {statuses, removed}
