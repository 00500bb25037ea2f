// The WebRTC half of a whisper link: simple-peer (loaded lazily) negotiates the offer,
// the answer and ICE; Wisp reads and writes the data channel itself.
//
// Everything Wisp needs from below simple-peer comes through public doors:
// - simple-peer's documented `wrtc` option hands it our RTCPeerConnection class, a thin
//   subclass that keeps the connection (for getStats: direct or TURN) and its data
//   channel (for bufferedAmount: backpressure) as they are made. No `_pc`, no `_channel`.
// - Messages: simple-peer would wrap each one in a Buffer and push it through a Node-style
//   stream shim, which a file pays per chunk (the file bench showed it). Our own "message"
//   listener is added to the channel before simple-peer sets `onmessage` (in
//   createDataChannel, or in our "datachannel" listener, which runs before simple-peer's
//   `ondatachannel`), and stops the event there. No `_onChannelMessage`.
// Both rest on how simple-peer 9 uses the standard API, not on its fields. If a later
// version breaks them, this fails loudly: a channel that never reached us, or a message
// that simple-peer handled itself (its "data" event), destroys the peer with an error
// saying so (the link then falls back to the relay or reports the loss), and
// tests/app/peer-link.test.ts fails.
import type { Instance as SimplePeerInstance, SignalData } from 'simple-peer/simplepeer.min.js';
import { debug } from './debug.ts';
import { HIGH_WATER_BYTES, LOW_WATER_BYTES } from './backpressure.ts';

/** The remote SDP's a=max-message-size (0 means no limit), if it says one. */
export function sdpMaxMessageSize(sdp: string): number | undefined {
  const match = /^a=max-message-size:(\d+)\s*$/m.exec(sdp);
  return match ? Number(match[1]) : undefined;
}

/** The DTLS fingerprints an SDP announces, normalised, for the transcript. */
export function sdpFingerprints(sdp: string): string {
  const found = new Set<string>();
  for (const match of sdp.matchAll(/^a=fingerprint:(\S+) (\S+)\s*$/gm)) found.add(`${match[1].toLowerCase()} ${match[2].toUpperCase()}`);
  return [...found].sort().join(',');
}

let simplePeerModule: Promise<typeof import('simple-peer/simplepeer.min.js')> | undefined;
function loadSimplePeer() {
  simplePeerModule ??= import('simple-peer/simplepeer.min.js');
  return simplePeerModule;
}

export interface DirectChannelOptions {
  initiator: boolean;
  iceServers: RTCIceServer[];
  /** Relay-only ICE: never reveal local addresses. */
  relayOnly: boolean;
  /** For the debug log. */
  label: string;
  /** A local offer, answer or candidate for the other side. */
  onSignal(data: SignalData): void;
  /** The data channel is open and simple-peer reports "connect". */
  onConnect(): void;
  /** The peer connection closed or failed (also after destroy()). */
  onLost(error?: Error): void;
  onMessage(bytes: Uint8Array): void;
}

export class DirectChannel {
  /** DTLS fingerprints of the local and remote SDP, and the remote's max message size. */
  localFingerprint = '';
  remoteFingerprint = '';
  remoteMaxMessageSize?: number;
  private peer?: SimplePeerInstance;
  private pc?: RTCPeerConnection;
  private channel?: RTCDataChannel;
  private destroyed = false;
  /** Signals that came before simple-peer was loaded. */
  private pendingSignals: SignalData[] = [];
  /** Frames written before simple-peer reported "connect". */
  private unsent: Uint8Array[] = [];

  constructor(private readonly options: DirectChannelOptions) {}

  /** The data channel, once simple-peer made it. */
  get dataChannel(): RTCDataChannel | undefined {
    return this.channel;
  }

  /** Loads simple-peer and starts negotiating; does nothing once destroyed. */
  async start(): Promise<void> {
    const { default: SimplePeer } = await loadSimplePeer();
    if (this.destroyed) return;
    const { options } = this;
    const peer = new SimplePeer({
      initiator: options.initiator,
      trickle: true,
      config: { iceServers: options.iceServers, iceTransportPolicy: options.relayOnly ? 'relay' : 'all' },
      channelConfig: { ordered: true },
      wrtc: { RTCPeerConnection: this.capturingPeerConnection(), RTCSessionDescription, RTCIceCandidate },
    });
    this.peer = peer;
    peer.on('signal', (data) => {
      if (data.sdp && (data.type === 'offer' || data.type === 'answer')) this.localFingerprint = sdpFingerprints(data.sdp);
      options.onSignal(data);
    });
    debug('link start', options.initiator ? 'initiator' : 'responder', options.label);
    peer.on('connect', () => {
      debug('dc connect', options.label);
      if (!this.channel) return peer.destroy(new Error('simple-peer connected over a data channel Wisp never saw: its use of the wrtc option changed (see direct-channel.ts).'));
      // The other side's first frame can arrive before simple-peer reports "connect" here.
      for (const frame of this.unsent.splice(0)) peer.send(frame);
      options.onConnect();
    });
    // Our message listener runs first and stops the event, so this fires only if it no longer does.
    peer.on('data', () => peer.destroy(new Error('simple-peer handled a data channel message itself: Wisp no longer sees messages first (see direct-channel.ts).')));
    peer.on('close', () => options.onLost());
    peer.on('error', (error) => options.onLost(error));
    for (const data of this.pendingSignals.splice(0)) peer.signal(data);
  }

  /** A signalling payload from the other side. */
  signal(data: SignalData): void {
    if (this.destroyed) return;
    if (data.sdp && (data.type === 'offer' || data.type === 'answer')) {
      this.remoteFingerprint = sdpFingerprints(data.sdp);
      this.remoteMaxMessageSize = sdpMaxMessageSize(data.sdp);
    }
    if (!this.peer) this.pendingSignals.push(data);
    else if (!this.peer.destroyed) this.peer.signal(data);
  }

  /** Writes a frame; true when the channel has copied it (or dropped it), so its buffer may be reused. */
  send(frame: Uint8Array): boolean {
    const peer = this.peer;
    if (!peer || peer.destroyed) return true;
    // RTCDataChannel.send() copies the bytes before it returns.
    if (peer.connected) peer.send(frame);
    else {
      this.unsent.push(frame);
      return false;
    }
    return true;
  }

  /** Waits while the data channel holds too much. */
  async roomToWrite(): Promise<void> {
    const channel = this.channel;
    if (!channel || channel.readyState !== 'open' || channel.bufferedAmount <= HIGH_WATER_BYTES) return;
    channel.bufferedAmountLowThreshold = LOW_WATER_BYTES;
    await new Promise<void>((resolve) => {
      const done = () => {
        channel.removeEventListener('bufferedamountlow', done);
        channel.removeEventListener('close', done);
        resolve();
      };
      channel.addEventListener('bufferedamountlow', done);
      channel.addEventListener('close', done);
    });
  }

  /** Direct or via TURN, from the selected ICE candidate pair. */
  async path(): Promise<'direct' | 'turn'> {
    try {
      const stats = await this.pc!.getStats();
      let pairId: string | undefined;
      stats.forEach((report) => {
        if (report.type === 'transport' && report.selectedCandidatePairId) pairId = report.selectedCandidatePairId;
      });
      const pair = pairId ? stats.get(pairId) : [...stats.values()].find((r) => r.type === 'candidate-pair' && r.nominated && r.state === 'succeeded');
      const local = pair ? stats.get(pair.localCandidateId) : undefined;
      const remote = pair ? stats.get(pair.remoteCandidateId) : undefined;
      return local?.candidateType === 'relay' || remote?.candidateType === 'relay' ? 'turn' : 'direct';
    } catch {
      return 'direct';
    }
  }

  destroy(): void {
    this.destroyed = true;
    this.peer?.destroy();
  }

  /** The RTCPeerConnection simple-peer builds (through `wrtc`): it hands us itself and its data channel. */
  private capturingPeerConnection(): typeof RTCPeerConnection {
    const self = this;
    return class extends RTCPeerConnection {
      constructor(config?: RTCConfiguration) {
        super(config);
        self.pc = this;
        // Registered before simple-peer sets ondatachannel, so it runs first (the responder's channel).
        this.addEventListener('datachannel', (event) => self.adopt(event.channel));
      }

      override createDataChannel(label: string, init?: RTCDataChannelInit): RTCDataChannel {
        const channel = super.createDataChannel(label, init);
        self.adopt(channel);
        return channel;
      }
    };
  }

  /** Takes the channel's messages before simple-peer's onmessage (set after this) sees them. */
  private adopt(channel: RTCDataChannel): void {
    this.channel = channel;
    channel.binaryType = 'arraybuffer';
    channel.addEventListener('message', (event: MessageEvent) => {
      event.stopImmediatePropagation();
      if (!this.peer?.destroyed && event.data instanceof ArrayBuffer) this.options.onMessage(new Uint8Array(event.data));
    });
  }
}
