// ICE servers for whisper links, as sent in `welcome`. None by default (a LAN needs
// none); STUN/TURN URLs from the operator; TURN credentials made per connection with
// coturn's REST scheme (use-auth-secret): username "expiry:peer", HMAC-SHA1 password.
import { createHmac } from 'node:crypto';

export interface IceConfig {
  readonly stunUrls: readonly string[];
  readonly turnUrls: readonly string[];
  readonly turnSecret?: string;
  readonly turnTtlSeconds: number;
}

export interface IceServer {
  urls: string[];
  username?: string;
  credential?: string;
}

export function turnCredential(secret: string, username: string): string {
  return createHmac('sha1', secret).update(username).digest('base64');
}

export function iceServersFor(config: IceConfig, peerId: string, now = Date.now()): IceServer[] {
  const servers: IceServer[] = [];
  if (config.stunUrls.length) servers.push({ urls: [...config.stunUrls] });
  if (config.turnUrls.length && config.turnSecret) {
    const username = `${Math.floor(now / 1000) + config.turnTtlSeconds}:${peerId}`;
    servers.push({ urls: [...config.turnUrls], username, credential: turnCredential(config.turnSecret, username) });
  }
  return servers;
}
