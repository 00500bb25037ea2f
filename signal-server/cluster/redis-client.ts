// The one place that loads ioredis: only when --redis is given, so a single-process
// Wisp (the default, and a Pi's install) never loads a Redis client at all.
import type { Redis, RedisOptions } from 'ioredis';
import { LIMITS } from '../protocol/protocol.ts';

export type { Redis };

/** Where a Redis URL points (host and port), never its password: for logs and sentences. */
export function redisAddress(url: string): string {
  return new URL(url).host;
}

/**
 * A connection that fails a command at once while Redis is away instead of queueing it:
 * a queued signal or presence change delivered minutes late is worse than none (each
 * caller falls back to local delivery or says the change could not be saved).
 */
export async function connectRedis(url: string, purpose: string): Promise<Redis> {
  const { Redis } = await import('ioredis');
  const options: RedisOptions = {
    connectionName: `wisp-${purpose}`,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    // Keeps trying for as long as the node runs, never faster than every few seconds.
    retryStrategy: (attempt) => Math.min(attempt * 200, LIMITS.clusterRedisRetryMaxMs),
    lazyConnect: true,
  };
  const redis = new Redis(url, options);
  // Without a listener ioredis reports every failed reconnect as an unhandled error event.
  redis.on('error', () => {});
  await connectOrGiveUp(redis);
  return redis;
}

/** A subscriber connection: commands may wait for the connection (SUBSCRIBE is re-sent after a reconnect by ioredis). */
export async function connectSubscriber(url: string, purpose: string): Promise<Redis> {
  const { Redis } = await import('ioredis');
  const redis = new Redis(url, {
    connectionName: `wisp-${purpose}`,
    autoResubscribe: true,
    retryStrategy: (attempt) => Math.min(attempt * 200, LIMITS.clusterRedisRetryMaxMs),
    lazyConnect: true,
  });
  redis.on('error', () => {});
  await connectOrGiveUp(redis);
  return redis;
}

/** A first connection that fails is not retried for ever in the background: the start fails instead. */
async function connectOrGiveUp(redis: Redis): Promise<void> {
  try {
    await redis.connect();
  } catch (error) {
    redis.disconnect();
    throw error;
  }
}
