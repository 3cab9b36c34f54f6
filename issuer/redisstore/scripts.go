package redisstore

import (
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/wsticket/wsticket/internal/ticket"
)

// The scripts. Each touches the keys of one tag, so one Cluster slot.
// go-redis runs them with EVALSHA, loading them on a NOSCRIPT.

// layoutTags writes the record layout's tag bytes (ticket.LayoutIssuedTag)
// into the scripts that read or write it, so that they and
// ticket.Record.Marshal share one definition.
var layoutTags = strings.NewReplacer(
	"EPOCH_TAG", strconv.Itoa(ticket.LayoutEpochTag),
	"ISSUED_TAG", strconv.Itoa(ticket.LayoutIssuedTag),
	"USER_TAG", strconv.Itoa(ticket.LayoutUserTag),
	"SESSION_TAG", strconv.Itoa(ticket.LayoutSessionTag),
)

// mintScript stores one ticket, after the checks that must see the same
// state: the login is not revoked, and the user's mint limit allows it;
// and, on a store whose keys all live on one node (not a Cluster), the
// client IP's mint limit first, so that a mint with the default limits is
// one command, which auto-pipelines (putLimited keeps the two-script
// pipeline for a Cluster, where that limit's key is in a slot of its own).
//
//	KEYS: bucket, state, limit[, IP limit]
//	ARGV: field, record (without epoch), hash TTL ms, session id or "",
//	      login issued at (Unix ms, 0 unknown), now (Unix ms), login
//	      revocation retention ms, limit interval µs (0: no limit),
//	      limit period µs[, IP limit interval µs, IP limit period µs]
//
// It returns {0} when stored, {1} for a revoked login, {2, µs} over a
// limit with the wait, and {3}, doing nothing, for an empty field: a
// command its caller gave up on (liveArg, autopipeline.go). The IP's
// limit counts a mint that the checks after it refuse, as it does on a
// Cluster. The user's epoch is put in front of the record as protobuf
// field 11 (tag 0x58, a varint), where ticket.Record.Marshal puts it
// (ticket.WithEpoch), so that redeemScript finds it there. The limits are
// GCRA, as limitScript's.
var mintScript = redis.NewScript(layoutTags.Replace(`
if ARGV[1] == '' then return {3} end
local interval = tonumber(ARGV[8])
local gcra
if KEYS[4] or interval > 0 then
  local tm = redis.call('TIME')
  local t = tonumber(tm[1]) * 1000000 + tonumber(tm[2])
  gcra = function(key, interval, period)
    local tat = tonumber(redis.call('GET', key)) or t
    if tat < t then tat = t end
    local wait = tat + interval - period - t
    if wait > 0 then return string.format('%d', wait) end
    redis.call('SET', key, string.format('%d', tat + interval), 'PX', math.ceil((tat + interval - t) / 1000) + 1)
    return nil
  end
end
if KEYS[4] then
  local wait = gcra(KEYS[4], tonumber(ARGV[10]), tonumber(ARGV[11]))
  if wait then return {2, wait} end
end
local st = redis.call('HMGET', KEYS[2], 'e', 'l', 'l:' .. ARGV[4])
local iat, now, keep = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local function revoked(at)
  at = tonumber(at)
  return at ~= nil and now - at <= keep and iat <= at
end
if revoked(st[2]) or (ARGV[4] ~= '' and revoked(st[3])) then return {1} end
if interval > 0 then
  local wait = gcra(KEYS[3], interval, tonumber(ARGV[9]))
  if wait then return {2, wait} end
end
local rec = ARGV[2]
local e = tonumber(st[1]) or 0
if e > 0 then
  local b = {string.char(EPOCH_TAG)}
  while e >= 128 do
    local r = e % 128
    b[#b + 1] = string.char(r + 128)
    e = (e - r) / 128
  end
  b[#b + 1] = string.char(e)
  rec = table.concat(b) .. rec
end
redis.call('HSET', KEYS[1], ARGV[1], rec)
local ttl = tonumber(ARGV[3])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return {0}
`))

// redeemScript takes one ticket's record out of its bucket and returns it,
// or nil when there is none or a revocation voided it (burned all the
// same). An empty field (a command its caller gave up on: liveArg,
// autopipeline.go) takes nothing. It needs the record's user, session and
// epoch (protobuf fields 1, 9 and 11) to find the user's state in the same
// slot. A record of this version has them first, at fixed places
// (ticket.LayoutIssuedTag: tags 0x58 epoch, 0x30 issue time, 0x0A user,
// 0x4A session): the script reads them there without walking the record,
// which took its Redis CPU per redeem at c=256 from 5.7 to 4.0-4.5 µs
// (make bench, the morning of 2026-12-04 against the evening). A record without
// that prefix (minted by the previous version during a rolling upgrade:
// it starts with the user), or with a user or session ID of 128 bytes or
// more, is walked whole.
//
//	KEYS: bucket
//	ARGV: field, the tag's state key prefix (the user is appended)
//
// The state key is not declared: it is known only once the record is
// read. It shares the bucket's hash tag, so the same slot, which is all
// Redis Cluster checks of a script's keys; declaring a key that does not
// exist would make a redeem during a slot migration fail with TRYAGAIN.
var redeemScript = redis.NewScript(layoutTags.Replace(`
if ARGV[1] == '' then return false end
local rec = redis.call('HGET', KEYS[1], ARGV[1])
if not rec then return false end
redis.call('HDEL', KEYS[1], ARGV[1])
local byte, sub = string.byte, string.sub
local i, epoch, user, sess = 1, 0, nil, ''
local b = byte(rec, 1)
if b == EPOCH_TAG then
  local m = 1
  repeat
    i = i + 1
    b = byte(rec, i)
    if b == nil then error('wsticket: corrupt record') end
    epoch = epoch + (b % 128) * m
    m = m * 128
  until b < 128
  i = i + 1
  b = byte(rec, i)
end
if b == ISSUED_TAG then
  local j = string.find(rec, '[%z\1-\127]', i + 1)
  if j and byte(rec, j + 1) == USER_TAG then
    local l = byte(rec, j + 2)
    if l and l < 128 then
      user = sub(rec, j + 3, j + 2 + l)
      i = j + 3 + l
      if byte(rec, i) == SESSION_TAG then
        local k = byte(rec, i + 1)
        if k and k < 128 then sess = sub(rec, i + 2, i + 1 + k) else user = nil end
      end
    end
  end
end
if user == nil then
  local n = #rec
  local function varint()
    local v, m = 0, 1
    while true do
      local b = byte(rec, i)
      if b == nil then error('wsticket: corrupt record') end
      i = i + 1
      v = v + (b % 128) * m
      if b < 128 then return v end
      m = m * 128
    end
  end
  i, epoch = 1, 0
  while i <= n do
    local key = varint()
    local num, typ = math.floor(key / 8), key % 8
    if typ == 0 then
      local v = varint()
      if num == 11 then epoch = v end
    elseif typ == 2 then
      local l = varint()
      if num == 1 then user = sub(rec, i, i + l - 1)
      elseif num == 9 then sess = sub(rec, i, i + l - 1) end
      i = i + l
    elseif typ == 1 then i = i + 8
    elseif typ == 5 then i = i + 4
    else error('wsticket: corrupt record') end
  end
  if user == nil then return rec end
end
local st = redis.call('HMGET', ARGV[2] .. user, 'u', 's:' .. sess)
local u = tonumber(st[1]) or 0
local s = 0
if sess ~= '' then s = tonumber(st[2]) or 0 end
if epoch < u or epoch < s then return false end
return rec
`))

// revokeScript raises a user's epoch and records a revocation of the user
// (or of one session, and of its logins), and returns the new epoch.
//
//	KEYS: state
//	ARGV: proposed epoch, now (Unix ms), session id or "", "1" to revoke
//	      logins, retention ms, "lift" to raise to the proposal without
//	      the strict increase (the second pass that makes a user's tags
//	      agree during a key rotation)
//
// The epoch becomes max(epoch + 1, proposal): always above the old one,
// so it orders the revocation after every earlier mint by the counter
// alone, whatever the clocks.
var revokeScript = redis.NewScript(`
local e = tonumber(redis.call('HGET', KEYS[1], 'e')) or 0
local p = tonumber(ARGV[1])
if ARGV[6] == 'lift' then
  if p < e then p = e end
elseif p <= e then
  p = e + 1
end
local ps = string.format('%d', p)
redis.call('HSET', KEYS[1], 'e', ps)
if ARGV[3] == '' then
  redis.call('HSET', KEYS[1], 'u', ps, 't', ARGV[2])
  if ARGV[4] == '1' then redis.call('HSET', KEYS[1], 'l', ARGV[2]) end
else
  redis.call('HSET', KEYS[1], 's:' .. ARGV[3], ps)
  if ARGV[4] == '1' then redis.call('HSET', KEYS[1], 'l:' .. ARGV[3], ARGV[2]) end
end
local keep = tonumber(ARGV[5])
if redis.call('PTTL', KEYS[1]) < keep then redis.call('PEXPIRE', KEYS[1], keep) end
return ps
`)

// limitScript is a GCRA rate limit on one key: N events per period in
// bursts of up to N, the key holding the theoretical arrival time (TAT, µs
// of Redis's own clock). It is the mint script's per-user limit on a key
// of its own, for the limits keyed by something else (a client IP).
//
//	KEYS: limit
//	ARGV: interval µs (period / N), period µs, "1" to peek (consume
//	      nothing)
//
// It returns {0} when allowed (and, unless peeking, counted), {2, µs} over
// the limit with the wait, the codes of mintScript.
var limitScript = redis.NewScript(`
local tm = redis.call('TIME')
local t = tonumber(tm[1]) * 1000000 + tonumber(tm[2])
local interval, period = tonumber(ARGV[1]), tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or t
if tat < t then tat = t end
local wait = tat + interval - period - t
if wait > 0 then return {2, string.format('%d', wait)} end
if ARGV[3] ~= '1' then
  redis.call('SET', KEYS[1], string.format('%d', tat + interval), 'PX', math.ceil((tat + interval - t) / 1000) + 1)
end
return {0}
`)
