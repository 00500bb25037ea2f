// What nodes say to each other through Redis. Room changes and directory events are JSON
// on the events channel; numbered room messages are a short text head and the frame as
// clients get it, so no node parses a message's JSON to pass it on.
import type { CloseCode } from '../protocol/protocol.ts';
import type { RoomChange } from '../room-change.ts';
import type { PeerRecord } from './remote-peer.ts';

/** On the events channel; `n` is the node that sent it. */
export interface ClusterEvent {
  n: string;
  /** A room change. */
  c?: RoomChange;
  /** Someone was admitted on node n. */
  p?: PeerRecord;
  /** Someone on node n is gone (their peer id). */
  g?: string;
  /** Node n (re)joined the cluster: read its directory. */
  up?: true;
  /** Node n stops: everyone on it is gone. */
  down?: true;
}

/** On a node's own channel. */
export type NodeFrame =
  | { t: 'send'; to: string; f: string }
  | { t: 'fwd'; from: string; to: string; f: string }
  | { t: 'close'; to: string; code: CloseCode; reason: string };

const MESSAGE = 'm\n';

/** "m\n<node>\n<from>\n<room>\n" + (in Redis) "<seq>\n<frame>". Room names and peer ids have no newlines. */
export function encodeMessageHead(node: string, from: string, room: string): string {
  return `${MESSAGE}${node}\n${from}\n${room}\n`;
}

export function decodeMessage(text: string): { from: string; room: string; seq: number; frame: string } | undefined {
  if (!text.startsWith(MESSAGE)) return undefined;
  const nodeEnd = text.indexOf('\n', 2);
  const fromEnd = text.indexOf('\n', nodeEnd + 1);
  const roomEnd = text.indexOf('\n', fromEnd + 1);
  const seqEnd = text.indexOf('\n', roomEnd + 1);
  if (nodeEnd < 0 || fromEnd < 0 || roomEnd < 0 || seqEnd < 0) return undefined;
  return {
    from: text.slice(nodeEnd + 1, fromEnd),
    room: text.slice(fromEnd + 1, roomEnd),
    seq: Number(text.slice(roomEnd + 1, seqEnd)),
    frame: text.slice(seqEnd + 1),
  };
}
