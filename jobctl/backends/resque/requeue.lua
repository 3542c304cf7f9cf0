-- jobctl: verify-then-act on one batch of Resque failure entries, atomically.
--
-- Why a script: the failed list is addressed by index, and indexes shift whenever anything removes
-- an entry (the bug class behind resque #1172 / resque-web #121). jobctl reads a window with LRANGE,
-- decides in Python which entries to act on, and sends here what it saw. The script acts on an
-- entry only if the list still holds exactly those bytes at that index; otherwise it leaves it
-- alone and reports it, and Python re-locates the entry and retries. Because Redis runs a script
-- atomically, every entry is either still failed or requeued exactly once, whatever happens to
-- the client (Ctrl-C, kill -9, connection loss).
--
-- The script never decodes or re-encodes JSON (cjson would change the bytes: [] -> {}, big ints,
-- "\/", key order). The payload pushed is a byte range of the verified entry, given by Python.
-- Entries are compared byte for byte with the bytes jobctl read (sent back in one packed argument),
-- in place: string.find(packed, current, pos, true) == pos holds exactly when the expected bytes at
-- pos equal the entry (lengths are compared first), and copies nothing. A miss makes find scan the
-- rest of the argument, so after the first miss in a call the script compares a copy instead
-- (string.sub), which costs a bounded ~1 us per entry. redis.sha1hex would cost several
-- microseconds per record (measured: 3x the whole call).
--
-- KEYS[1]      failure list (<ns>:failed or <ns>:<queue>_failed)
-- KEYS[2]      queue-name set (<ns>:queues)
-- KEYS[3..]    target queue lists (<ns>:queue:<name>), in the order of the names in ARGV
-- ARGV[1]      mode: "move" (push payload, remove entry) | "keep" (push payload, replace entry
--              with the given bytes, e.g. with retried_at) | "discard" (remove entry only)
-- ARGV[2]      tombstone: a per-call unique value that no real entry can equal (starts with NUL)
-- ARGV[3]      lo: smallest index in this batch;  ARGV[4]: hi: largest index
-- ARGV[5]      the entries, packed: per entry an 18-byte header (struct '>I4I4I4I4I2': index,
--              length of the expected bytes, payload start, payload end (1-based, inclusive; 0 0 for
--              discard), target queue (1..Q; 0 for discard)) followed by the expected bytes. One
--              argument instead of six per entry keeps the client's command encoding cheap.
-- ARGV[6]      number of target queues Q; ARGV[7 .. 6+Q]: their names (for SADD), same order as KEYS[3..]
-- ARGV[7+Q..]  "keep" only: the new bytes of each entry, in entry order
--
-- Returns {statuses, removed, usec, removal_usec, length, scanned}: statuses = one character per
-- entry, "1" acted, "0" the entry was not there any more (changed/moved); usec = the script's own
-- run time on the server (it blocks Redis that long; jobctl sizes batches by it); removal_usec =
-- the part spent removing entries (an LREM deep inside a long list costs its scan whatever the
-- batch size); length = the list's length afterwards; scanned = how many entries the LREM passed
-- (0 for an LTRIM). jobctl's stall guard (stall.py) learns the per-entry scan cost from the last two.

if redis.replicate_commands then redis.replicate_commands() end  -- Redis < 5: allow TIME before writes
local function now_us()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local started = now_us()

local list = KEYS[1]
local mode = ARGV[1]
local tomb = ARGV[2]
local lo = tonumber(ARGV[3])
local hi = tonumber(ARGV[4])
local packed = ARGV[5]
local nq = tonumber(ARGV[6])
local first_new = 7 + nq

local window = redis.call('LRANGE', list, lo, hi)
local statuses = {}
local indexes = {}
local pushes = {}
local removed = 0
local contiguous = true  -- the acted-on entries are exactly lo..hi with nothing skipped
local expect_next = lo
local unpack_record = struct.unpack
local find, sub = string.find, string.sub
local pushing = mode ~= 'discard'
local keeping = mode == 'keep'
local in_place = true  -- no miss yet in this call: compare with find (see the top)

local pos = 1
local total = #packed
local n = 0
while pos <= total do
  n = n + 1
  local i = n
  local idx, len, ps, pe, t
  idx, len, ps, pe, t, pos = unpack_record('>I4I4I4I4I2', packed, pos)
  indexes[i] = idx
  local current = window[idx - lo + 1]
  local same = false
  if current ~= nil and #current == len then
    if in_place then
      same = find(packed, current, pos, true) == pos
      in_place = same
    else
      same = sub(packed, pos, pos + len - 1) == current
    end
  end
  pos = pos + len
  if same then
    statuses[i] = '1'
    if pushing then
      local bucket = pushes[t]
      if bucket == nil then
        bucket = {}
        pushes[t] = bucket
      end
      bucket[#bucket + 1] = sub(current, ps, pe)
    end
    if keeping then
      redis.call('LSET', list, idx, ARGV[first_new + i - 1])
    else
      if idx ~= expect_next then contiguous = false end
      expect_next = idx + 1
      removed = removed + 1
    end
  else
    statuses[i] = '0'
    contiguous = false
  end
end

-- Push per target queue in batch order (one variadic RPUSH per queue keeps per-queue FIFO order).
for t = 1, nq do
  local bucket = pushes[t]
  if bucket ~= nil then
    for s = 1, #bucket, 1000 do
      redis.call('RPUSH', KEYS[2 + t], unpack(bucket, s, math.min(s + 999, #bucket)))
    end
    redis.call('SADD', KEYS[2], ARGV[6 + t])
  end
end

local removal_started = now_us()
local len = redis.call('LLEN', list)
local scanned = 0
if removed > 0 then
  if contiguous and expect_next == hi + 1 and lo == 0 then
    -- The batch is exactly the head of the list: drop it without scanning.
    redis.call('LTRIM', list, removed, -1)
  elseif contiguous and expect_next == hi + 1 and hi == len - 1 then
    -- Exactly the tail (nothing appended above it): likewise.
    redis.call('LTRIM', list, 0, lo - 1)
  else
    -- Mark, then remove the marks with one LREM scanning from the nearer end (LREM compares
    -- element by element, so its cost is the distance from the end it starts at).
    for i = 1, n do
      if statuses[i] == '1' then
        redis.call('LSET', list, indexes[i], tomb)
      end
    end
    if hi + 1 <= len - lo then
      redis.call('LREM', list, removed, tomb)
      scanned = hi + 1
    else
      redis.call('LREM', list, -removed, tomb)
      scanned = len - lo
    end
  end
  len = len - removed
end

local ended = now_us()
return {table.concat(statuses), removed, ended - started, ended - removal_started, len, scanned}
