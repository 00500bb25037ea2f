// Whether this browser can make WebRTC data channels at all. Some engines ship without
// WebRTC (WebKitGTK's MiniBrowser, some embedded web views): whispers then say so plainly
// instead of waiting for a link that can never open.
export const NO_WEBRTC_SENTENCE = 'Whispers need a browser with WebRTC; this browser has none. Room chat still works.';

export function hasWebRTC(): boolean {
  return typeof globalThis.RTCPeerConnection === 'function';
}
