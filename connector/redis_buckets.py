"""Each shop's rate-limit bucket in Redis, so every worker process draws on one estimate.

docs/architecture.md, "Rate limits and fairness across shops", says why and how.

The same model as ``connector.core.rate_buckets.LocalBuckets``, kept in one hash per shop and changed
only by Lua scripts, which Redis runs one at a time: two workers can never both spend the last points.
Time is Redis's own (``TIME``), so the workers' clocks do not have to agree.

Keys, per shop (``{key}`` is the shop's domain, whole: one shop's keys never match another's):

* ``connector:bucket:{key}``: ``max``, ``rate``, ``avail`` and ``ts`` (the last adopted report and when),
  ``adopted`` and ``seq`` (reservation ids), ``next`` (pacing), ``job`` (learned points per job) and
  counters for benches and diagnostics: ``paced``, ``deferred``, ``throttled``, ``waited``;
* ``connector:bucket:{key}:flight``: reservations of requests not yet answered (``id:points``, scored
  by when they stop counting, so a worker killed mid-request cannot hold points forever);
* ``connector:bucket:{key}:costs``: learned cost per operation name.
"""

from __future__ import annotations

from typing import Any

from connector.core.hooktypes import BucketReservation, RateLimitStatus
from connector.core.rate_buckets import (
    BURST_SHARE,
    DEFAULT_COST,
    DEFAULT_JOB_COST,
    DEFAULT_MAXIMUM,
    DEFAULT_RESTORE_RATE,
    JOB_COST_WEIGHT,
    charge,
    covered,
)

PREFIX = "connector:bucket:"
#: A reservation stops counting after this long: longer than any request's timeouts (3 s + 10 s).
RESERVATION_TTL = 60
#: Keys of a shop nobody called for this long go away.
KEY_TTL = 7 * 24 * 3600

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
"""

_ESTIMATE = """
local function estimate(b, f, now)
  redis.call('ZREMRANGEBYSCORE', f, '-inf', now)  -- reservations of workers that never answered
  local v = redis.call('HMGET', b, 'max', 'rate', 'avail', 'ts')
  if not v[1] then return nil end
  local maximum, rate = tonumber(v[1]), tonumber(v[2])
  local refilled = math.min(maximum, tonumber(v[3]) + math.max(0, now - tonumber(v[4])) * rate)
  local flight = 0
  for _, m in ipairs(redis.call('ZRANGE', f, 0, -1)) do
    flight = flight + tonumber(string.match(m, ':(.*)$'))
  end
  return refilled - flight, maximum, rate, refilled
end
"""

#: KEYS: bucket, flight, costs. ARGV: operation, default cost (a grant's points), reservation ttl, key ttl,
#: mode ('' a call, 'grant' a whole job's points, 'free' a call its job's grant pays for).
#: Returns {1, points, id} (go) or {0, seconds to wait, id}.
RESERVE = (
    _NOW
    + _ESTIMATE
    + """
local b, f, c = KEYS[1], KEYS[2], KEYS[3]
local mode = ARGV[5]
local id = redis.call('HINCRBY', b, 'seq', 1)
redis.call('EXPIRE', b, tonumber(ARGV[4]))
if mode == 'free' then return {1, '0', id} end
local cost = tonumber(ARGV[2])
if mode ~= 'grant' then cost = tonumber(redis.call('HGET', c, ARGV[1]) or ARGV[2]) end
local est, maximum, rate = estimate(b, f, now)
if est == nil then
  -- Nothing reported yet: one probe at a time, whose answer tells everyone the bucket. A job's grant
  -- is empty then, so its first call is such a probe.
  if mode == 'grant' then return {1, '0', id} end
  if redis.call('ZCARD', f) > 0 then return {0, '0.05', id} end
  redis.call('ZADD', f, now + tonumber(ARGV[3]), id .. ':0')
  redis.call('EXPIRE', f, tonumber(ARGV[4]))
  return {1, '0', id}
end
if cost > maximum then cost = maximum end
if est + 0.000001 >= cost then
  redis.call('ZADD', f, now + tonumber(ARGV[3]), id .. ':' .. cost)
  redis.call('EXPIRE', f, tonumber(ARGV[4]))
  return {1, tostring(cost), id}
end
return {0, tostring((cost - est) / rate), id}
"""
)

#: KEYS: bucket, flight, costs. ARGV: id, points, operation, cost or '', max, rate, available ('' = no report),
#: key ttl.
SETTLE = (
    _NOW
    + """
local b, f, c = KEYS[1], KEYS[2], KEYS[3]
local id, points = tonumber(ARGV[1]), tonumber(ARGV[2])
local had = redis.call('ZREM', f, ARGV[1] .. ':' .. ARGV[2])
if ARGV[3] ~= '' and ARGV[4] ~= '' and tonumber(ARGV[4]) > 0 then
  redis.call('HSET', c, ARGV[3], ARGV[4])
  redis.call('EXPIRE', c, tonumber(ARGV[8]))
end
local v = redis.call('HMGET', b, 'max', 'rate', 'avail', 'ts', 'adopted')
local function spend(amount)
  local maximum, rate = tonumber(v[1]), tonumber(v[2])
  local refilled = math.min(maximum, tonumber(v[3]) + math.max(0, now - tonumber(v[4])) * rate)
  redis.call('HSET', b, 'avail', tostring(math.max(0, refilled - amount)), 'ts', tostring(now))
end
if ARGV[7] == '' then
  -- No report (the request failed): it may have been charged; assume it was.
  if v[1] and had == 1 then spend(points) end
  return 0
end
local maximum, rate = tonumber(ARGV[5]), tonumber(ARGV[6])
local avail = math.max(0, math.min(tonumber(ARGV[7]), maximum))
if not v[1] or id > tonumber(v[5] or '0') then
  if v[1] then
    -- Answers overtake each other: a later reservation's report can be older at Shopify than the one
    -- adopted before it and miss that request's spend. So a report only lowers the estimate; time raises it.
    local refilled = math.min(tonumber(v[1]), tonumber(v[3]) + math.max(0, now - tonumber(v[4])) * tonumber(v[2]))
    avail = math.min(avail, refilled)
  end
  redis.call('HSET', b, 'max', ARGV[5], 'rate', ARGV[6], 'avail', tostring(avail), 'ts', tostring(now),
    'adopted', ARGV[1])
else
  -- An answer older than the adopted one: that report may not include this request's spend.
  spend(ARGV[4] ~= '' and tonumber(ARGV[4]) or points)
end
redis.call('EXPIRE', b, tonumber(ARGV[8]))
return 1
"""
)

#: KEYS: bucket, flight. ARGV: points. Returns seconds until the estimate holds them ('0': now or unknown).
WAIT_FOR = (
    _NOW
    + _ESTIMATE
    + """
local est, maximum, rate = estimate(KEYS[1], KEYS[2], now)
if est == nil then return '0' end
local short = math.min(tonumber(ARGV[1]), maximum) - est
if short <= 0.000001 then return '0' end
return tostring(short / rate)
"""
)

#: KEYS: bucket. ARGV: points, default rate, default maximum, burst share, key ttl.
#: Returns seconds from now at which the job should start, and books that start (``rate_buckets.gcra``).
PACE = (
    _NOW
    + """
local b = KEYS[1]
local v = redis.call('HMGET', b, 'max', 'rate', 'next')
local maximum = tonumber(v[1] or ARGV[3])
local rate = tonumber(v[2] or ARGV[2])
local booked = math.max(tonumber(v[3] or '0'), now)
local start = math.max(now, booked - tonumber(ARGV[4]) * maximum / rate)
redis.call('HSET', b, 'next', tostring(booked + tonumber(ARGV[1]) / rate))
if start > now then redis.call('HINCRBY', b, 'paced', 1) end
redis.call('EXPIRE', b, tonumber(ARGV[5]))
return tostring(start - now)
"""
)

#: KEYS: bucket. ARGV: measured points, weight. The learned points per job, an exponential moving average.
LEARN = """
local old = redis.call('HGET', KEYS[1], 'job')
local new = tonumber(ARGV[1])
if old then new = tonumber(old) + tonumber(ARGV[2]) * (new - tonumber(old)) end
redis.call('HSET', KEYS[1], 'job', tostring(new))
return tostring(new)
"""


def bucket_keys(key: str) -> tuple[str, str, str]:
    """The Redis keys of one shop's bucket: hash, in-flight reservations, learned operation costs."""
    base = PREFIX + key
    return base, base + ":flight", base + ":costs"


class RedisBuckets:
    """Shared buckets for RQ workers: every process of the deployment sees one estimate per shop."""

    def __init__(self, redis_url: str, default_job_cost: float = DEFAULT_JOB_COST) -> None:
        from redis import Redis

        self.redis = Redis.from_url(redis_url)
        self._default_job_cost = default_job_cost
        self._reserve = self.redis.register_script(RESERVE)
        self._settle = self.redis.register_script(SETTLE)
        self._wait_for = self.redis.register_script(WAIT_FOR)
        self._pace = self.redis.register_script(PACE)
        self._learn = self.redis.register_script(LEARN)

    def reserve(self, key: str, operation: str) -> tuple[BucketReservation | None, float]:
        mode = "free" if covered(key) else ""
        go, amount, rid = self._reserve(
            keys=bucket_keys(key), args=[operation, DEFAULT_COST, RESERVATION_TTL, KEY_TTL, mode]
        )
        if int(go):
            return BucketReservation(key, float(amount), int(rid)), 0.0
        return None, float(amount)

    def try_grant(self, key: str, points: float) -> tuple[BucketReservation | None, float]:
        """Reserve a whole job's points (``LocalBuckets.try_grant``)."""
        go, amount, rid = self._reserve(
            keys=bucket_keys(key), args=["", repr(float(points)), RESERVATION_TTL, KEY_TTL, "grant"]
        )
        if int(go):
            return BucketReservation(key, float(amount), int(rid)), 0.0
        return None, float(amount)

    def release(self, reservation: BucketReservation) -> None:
        """Give back what is left of a grant: its calls' own answers already reported what they spent."""
        if reservation.points:
            self.redis.zrem(bucket_keys(reservation.key)[1], f"{reservation.id}:{_points(reservation.points)}")

    def settle(
        self, reservation: BucketReservation, operation: str, status: RateLimitStatus | None, cost: float | None
    ) -> None:
        charge(reservation.key, cost if cost is not None else reservation.points)
        report: list[Any] = ["", "", ""]
        if status is not None and status.maximum > 0 and status.restore_rate > 0:
            report = [repr(float(status.maximum)), repr(float(status.restore_rate)), repr(float(status.available))]
        self._settle(
            keys=bucket_keys(reservation.key),
            args=[
                reservation.id,
                _points(reservation.points),
                operation,
                "" if cost is None else repr(float(cost)),
                *report,
                KEY_TTL,
            ],
        )

    def wait_for(self, key: str, points: float) -> float:
        base, flight, _ = bucket_keys(key)
        return float(self._wait_for(keys=[base, flight], args=[repr(float(points))]))

    def pace(self, key: str, points: float) -> float:
        return float(
            self._pace(
                keys=[bucket_keys(key)[0]],
                args=[repr(float(points)), DEFAULT_RESTORE_RATE, DEFAULT_MAXIMUM, BURST_SHARE, KEY_TTL],
            )
        )

    def job_cost(self, key: str) -> float:
        learned = self.redis.hget(bucket_keys(key)[0], "job")
        return float(learned) if learned is not None else self._default_job_cost

    def learn_job_cost(self, key: str, points: float) -> None:
        if points > 0:
            self._learn(keys=[bucket_keys(key)[0]], args=[repr(float(points)), JOB_COST_WEIGHT])

    def count(self, key: str, what: str) -> None:
        self.redis.hincrby(bucket_keys(key)[0], what, 1)

    def stats(self, key: str) -> dict[str, float]:
        """The shop's counters (``paced``, ``deferred``, ``throttled``, ``waited``), ``job`` cost and ``estimate``."""
        raw = self.redis.hgetall(bucket_keys(key)[0])
        named = {(k.decode() if isinstance(k, bytes) else str(k)): v for k, v in raw.items()}
        return {k: float(v) for k, v in named.items() if k in _REPORTED}

    def forget(self, key: str | None = None) -> None:
        """Drop what is known about one shop (or every shop): tests, and after a shop reconnects."""
        if key is not None:
            self.redis.delete(*bucket_keys(key))
            return
        for found in self.redis.scan_iter(match=PREFIX + "*"):
            self.redis.delete(found)


_REPORTED = {"paced", "deferred", "throttled", "waited", "job", "max", "rate"}


def _points(points: float) -> str:
    """The points as the reserve script wrote them into the reservation's member (``id:points``)."""
    return "0" if points == 0 else _lua_number(points)


def _lua_number(value: float) -> str:
    """Lua's ``tostring`` of a number as the reserve script concatenates it (``10`` for 10.0, else %.14g)."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.14g}"
