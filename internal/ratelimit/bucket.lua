-- One token bucket, as ratelimit.Memory keeps it: the hash at KEYS[1] holds the tokens left
-- ("t", a float) at the time of the last call ("ts", microseconds). A call refills the bucket
-- for the time since then, takes one token if there is a whole one, and otherwise takes
-- nothing and says how long until there will be. Running in Redis makes read-refill-take one
-- atomic step for every node.
--
-- ARGV: rate (tokens per second), burst, TTL in milliseconds, and optionally the time in
-- microseconds (tests); without it Redis's own clock is used, the same for every node.
-- Returns {allowed (0/1), whole tokens left, microseconds until the next token}.
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
if now == nil then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end

local state = redis.call('HMGET', KEYS[1], 't', 'ts')
local tokens = tonumber(state[1])
local last = tonumber(state[2])
if tokens == nil or last == nil then
  tokens = burst
elseif now > last then
  tokens = math.min(burst, tokens + (now - last) * rate / 1000000)
else
  -- A clock that went back refills nothing and must not make the next call refill twice.
  now = last
end

local allowed, wait = 0, 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = math.ceil((1 - tokens) * 1000000 / rate)
end
redis.call('HSET', KEYS[1], 't', string.format('%.17g', tokens), 'ts', string.format('%.0f', now))
redis.call('PEXPIRE', KEYS[1], ttl)
return {allowed, math.floor(tokens), wait}
