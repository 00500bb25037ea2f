// The custom events the components send up to <wisp-app>, with their details, declared
// once in HTMLElementEventMap. Components send them with emit() and <wisp-app> listens
// with on(): both take the name from the map, so a misspelt name or a detail of the
// wrong shape fails the typecheck. (Lit's `@name=${…}` bindings are not type-checked,
// which is why <wisp-app> uses on() for these events.)
import { nothing } from 'lit';
import { Directive, PartType, directive, type ElementPart, type PartInfo } from 'lit/directive.js';
import type { Member } from '../../signal-server/protocol/protocol.ts';
import type { Settings } from '../storage/settings.ts';

/** Each event's detail; `null` for events that carry none. */
export interface WispEventDetail {
  // composer
  send: { text: string };
  files: { files: File[] };
  // connection-status (no detail) and whisper-header (the contact's key)
  reconnect: { key: string } | null;
  // file-card
  'file-accept': { id: string };
  'file-decline': { id: string };
  'file-cancel': { id: string };
  // message-list: Retry on an own whisper that was not delivered
  'whisper-retry': { id: string };
  // member-list
  'member-select': { key: string; name: string };
  'member-menu': { member: Member; x: number; y: number };
  // member-menu
  'menu-choose': { action: string };
  'menu-close': null;
  // notice
  'notice-dismiss': null;
  'notice-action': null;
  // passphrase-dialog
  'passphrase-submit': { room: string; mode: 'join' | 'change'; passphrase: string };
  'passphrase-cancel': { room: string; mode: 'join' | 'change' };
  // password-dialog
  password: { password: string };
  // room-header
  invite: { room: string };
  'change-passphrase': { room: string };
  'unlock-room': { room: string };
  'forget-room': { room: string };
  'room-history': { room: string; newMembers: number };
  'set-topic': { room: string; topic: string };
  'leave-room': { room: string };
  // room-header and whisper-header: the tab ("@" + key for a whisper conversation)
  'clear-conversation': { tab: string };
  // message-list: where the person is (top line when not at the bottom, last line seen)
  'view-change': { room: string; anchor?: string; seen?: string };
  // message-list: "Load earlier messages"
  'load-earlier': { room: string };
  // room-picker
  refresh: null;
  'join-room': { room: string; passphrase?: string };
  // room-tabs
  'room-select': { room: string };
  'room-add': null;
  'tab-close': { tab: string };
  // top bar: the own name, and the rename dialog
  rename: { name: string };
  'rename-close': null;
  // settings-dialog
  'settings-change': { settings: Settings };
  // settings-dialog: "Commands" opens the /help panel
  'show-help': null;
  // help-panel: closed (Close or Escape)
  'help-close': null;
  // share-dialog
  'share-to': { key: string };
  'share-cancel': null;
  // verify-dialog
  'mark-verified': null;
  'verify-mismatch': null;
  // qr-scanner: each new text read, and why the camera could not be used
  'code-scanned': { text: string; decoder: 'barcode-detector' | 'jsqr' };
  'scan-failed': { reason: string };
  // whisper-header
  verify: { key: string };
  'accept-change': { key: string };
}

export type WispEventName = keyof WispEventDetail;

type WispEventMap = { [K in WispEventName]: CustomEvent<WispEventDetail[K]> };

declare global {
  interface HTMLElementEventMap extends WispEventMap {}
}

/** Sends a Wisp event up from a component (bubbling, out of shadow roots). */
export function emit<K extends WispEventName>(from: EventTarget, type: K, ...[detail]: WispEventDetail[K] extends null ? [] : [detail: WispEventDetail[K]]): void {
  from.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
}

type Listener = (event: Event) => void;

class OnDirective extends Directive {
  private type?: string;
  private handler?: Listener;
  private readonly listener: Listener = (event) => this.handler?.(event);

  constructor(part: PartInfo) {
    super(part);
    if (part.type !== PartType.ELEMENT) throw new Error('on() belongs on an element: <x-y ${on(...)}>');
  }

  render(_type: string, _handler: Listener) {
    return nothing;
  }

  override update(part: ElementPart, [type, handler]: [string, Listener]) {
    if (type !== this.type) {
      if (this.type) part.element.removeEventListener(this.type, this.listener);
      part.element.addEventListener(type, this.listener);
      this.type = type;
    }
    this.handler = handler;
    return nothing;
  }
}

const onDirective = directive(OnDirective);

/**
 * Listens for an event on the element it is written on, like Lit's `@type=${handler}`,
 * but type-checked: `type` must be an event the map declares, and the handler gets its
 * event type (a Wisp event's detail included).
 */
export function on<K extends keyof HTMLElementEventMap>(type: K, handler: (event: HTMLElementEventMap[K]) => void) {
  return onDirective(type, handler as Listener);
}
