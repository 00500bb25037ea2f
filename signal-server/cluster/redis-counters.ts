// Cluster mode: the guess counts (INCR + PEXPIRE per key: a window from the first
// failure) and the change buckets (per person) that every node shares, so a guesser
// or a flood of changes gets the same limits whichever node each attempt reaches.
// Each read or change is one script: one round trip, never half done.
import type { SharedCounts } from '../guess-throttles.ts';
import type { SharedBuckets } from '../change-throttles.ts';
import type { Redis } from './redis-client.ts';

const PREFIX = 'wisp:throttle:';

/** Per key: the count, then the milliseconds left of its window (-2: no such key). */
const READ = `
local out = {}
for _, key in ipairs(KEYS) do
  out[#out + 1] = tonumber(redis.call('GET', key) or '0')
  out[#out + 1] = redis.call('PTTL', key)
end
return out`;

/** One failure per key; the window starts with the key's first failure. */
const FAIL = `
for _, key in ipairs(KEYS) do
  redis.call('INCR', key)
  if redis.call('PTTL', key) < 0 then redis.call('PEXPIRE', key, ARGV[1]) end
end
return 0`;

/** A token bucket on Redis's clock (ARGV: per minute, burst, take 1/0): 0 or the milliseconds to wait. */
const BUCKET = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local per, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local saved = redis.call('HMGET', KEYS[1], 't', 'at')
local tokens = burst
if saved[1] then tokens = math.min(burst, tonumber(saved[1]) + (now - tonumber(saved[2])) * per / 60000) end
if tokens < 1 then return math.ceil((1 - tokens) * 60000 / per) end
if ARGV[3] == '1' then
  redis.call('HSET', KEYS[1], 't', tostring(tokens - 1), 'at', tostring(now))
  redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 60000 / per))
end
return 0`;

export class RedisCounters implements SharedCounts, SharedBuckets {
  constructor(private readonly redis: Redis) {}

  async read(keys: readonly string[]): Promise<{ count: number; leftMs: number }[]> {
    const flat = (await this.redis.eval(READ, keys.length, ...keys.map((key) => PREFIX + key))) as number[];
    return keys.map((_, i) => ({ count: flat[2 * i]!, leftMs: Math.max(flat[2 * i + 1]!, 0) }));
  }

  async fail(keys: readonly string[], windowMs: number): Promise<void> {
    await this.redis.eval(FAIL, keys.length, ...keys.map((key) => PREFIX + key), windowMs);
  }

  async take(bucket: string, perMinute: number, burst: number, take: boolean): Promise<number> {
    return (await this.redis.eval(BUCKET, 1, `${PREFIX}bucket:${bucket}`, perMinute, burst, take ? 1 : 0)) as number;
  }
}
