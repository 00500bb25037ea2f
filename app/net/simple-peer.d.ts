// The slice of simple-peer 9 that Wisp uses: its public API only (see direct-channel.ts).
// Its own @types pull in Node's typings, which do not belong in browser code.
declare module 'simple-peer/simplepeer.min.js' {
  export interface SignalData {
    type?: 'offer' | 'answer' | 'pranswer' | 'rollback' | 'transceiverRequest' | 'renegotiate' | 'candidate';
    sdp?: string;
    candidate?: unknown;
    [key: string]: unknown;
  }
  export interface Options {
    initiator?: boolean;
    config?: RTCConfiguration;
    channelConfig?: RTCDataChannelInit;
    trickle?: boolean;
    objectMode?: boolean;
    /** The WebRTC classes to use instead of the browser's (Wisp passes a subclass of its RTCPeerConnection). */
    wrtc?: { RTCPeerConnection: typeof RTCPeerConnection; RTCSessionDescription: typeof RTCSessionDescription; RTCIceCandidate: typeof RTCIceCandidate };
  }
  export interface Instance {
    signal(data: SignalData): void;
    send(data: Uint8Array | string): void;
    destroy(error?: Error): void;
    on(event: 'signal', listener: (data: SignalData) => void): this;
    on(event: 'connect' | 'close', listener: () => void): this;
    on(event: 'data', listener: (data: Uint8Array) => void): this;
    on(event: 'error', listener: (error: Error & { code?: string }) => void): this;
    readonly connected: boolean;
    readonly destroyed: boolean;
  }
  const SimplePeer: { new (options?: Options): Instance; readonly WEBRTC_SUPPORT: boolean };
  export default SimplePeer;
}
