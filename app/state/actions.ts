// Everything that can change the state. An action carries all it needs, the time and the
// ids of any lines it adds included: the reducers read no clock and count nothing.
import type { Member, PresenceEvent, WireLimits } from '../../signal-server/protocol/protocol.ts';
import type { LinkPath } from '../net/peer-link.ts';
import type { Pins } from '../storage/pins.ts';
import type { Settings } from '../storage/settings.ts';
import type { ChatLine, ConnectionStatus, LinkStatus, PassphrasePrompt, TransferState } from './state.ts';

export type WhisperStatus = 'sending' | 'waiting' | 'expired';

export type Action =
  | { t: 'connection'; status: ConnectionStatus; sentence?: string; retryAt?: number; banned?: true }
  | { t: 'identity'; fingerprint: string }
  | { t: 'welcome'; id: string; name: string; limits: WireLimits; iceServers: RTCIceServer[] }
  | { t: 'name'; name: string }
  | { t: 'open-room'; room: string; activate: boolean }
  | { t: 'joined'; room: string; members: Member[]; topic?: string; persistent?: boolean; private?: boolean; newMembers?: number }
  /** The room's history setting changed; `id` and `ts` are for the line saying so. */
  | { t: 'room-history'; room: string; newMembers: number; by: string; ts: number; id: string }
  /** Out of a private room (its passphrase changed): the tab stays, waiting for the new one. */
  | { t: 'room-locked'; room: string; sentence: string; ts: number; id: string }
  | { t: 'room-unlocking'; room: string; unlocking: boolean }
  | { t: 'passphrase-prompt'; prompt?: PassphrasePrompt }
  /** Kicked, banned or purged: the room goes, with a sentence saying why. */
  | { t: 'removed'; room: string; sentence: string }
  | { t: 'admin' }
  | { t: 'password-required'; error?: string }
  | { t: 'password-accepted' }
  | { t: 'left'; room: string }
  /** `id`: the lines the events deserve get keys made from it. */
  | { t: 'presence'; room: string; events: PresenceEvent[]; ts: number; id: string }
  /** `fromKey`: the identity key a sealed message is bound to (its sender may have left). `serverTs`: the server's time, when `ts` is another (a private room's sealed time). */
  | { t: 'message'; room: string; id: string; from: string; name: string; ts: number; text: string; kind: 'text' | 'action'; serverTs?: number; fromKey?: string }
  /**
   * Lines kept on this device, back in a room or whisper tab (a line already there by id is
   * not repeated); `unseen`: how many of them the person had not seen (unread, unless the tab is active);
   * `earlier`: the device holds older lines than these.
   */
  | { t: 'history-restore'; tab: string; lines: ChatLine[]; anchor?: string; unseenFrom?: string; unseen: number; earlier?: boolean }
  /** "Load earlier messages": older lines from the device go above the first one (an id already there is not repeated). */
  | { t: 'history-earlier'; tab: string; lines: ChatLine[]; earlier: boolean }
  /** The room was purged up to the server's `at`: its lines from then or before go. */
  | { t: 'history-purged'; room: string; at: number }
  /** "Clear this conversation": the tab stays, its lines go. */
  | { t: 'history-cleared'; tab: string }
  | { t: 'pending'; room: string; cid: string; text: string; kind: 'text' | 'action'; at: number }
  | { t: 'ack'; cid: string; id: string; ts: number }
  | { t: 'activate'; room: string }
  /** A system line in a room (the active one by default); with no room at all, a notice. */
  | { t: 'system'; room?: string; text: string; ts: number; id: string }
  | { t: 'notice'; text: string; returned?: string; info?: boolean }
  | { t: 'dismiss-notice' }
  /** /help: the panel of the commands this person may use opens, or it closed. */
  | { t: 'help'; open: boolean }
  | { t: 'directory'; rooms: { name: string; members: number }[] }
  | { t: 'update-ready' }
  | { t: 'whisper-open'; key: string; name: string; activate: boolean }
  | { t: 'whisper-close'; key: string }
  | { t: 'whisper-link'; key: string; link: LinkStatus; path?: LinkPath; failure?: string }
  | { t: 'whisper-in'; key: string; id: string; text: string; kind: 'text' | 'action'; ts: number }
  /** An own whisper; a line with this id already there (restored from the device) is updated, not added again. */
  | { t: 'whisper-out'; key: string; id: string; text: string; kind: 'text' | 'action'; ts: number; status?: WhisperStatus }
  /** Where an own whisper stands before its receipt: going out, waiting for its person, or expired. */
  | { t: 'whisper-status'; key: string; id: string; status: WhisperStatus }
  | { t: 'whisper-sent'; key: string; id: string }
  | { t: 'whisper-delivered'; key: string; id: string }
  | { t: 'whisper-system'; key: string; text: string; ts: number; id: string }
  | { t: 'accept-change'; key: string }
  | { t: 'share'; share?: { files: File[]; text?: string } }
  /** A transfer's new state; the first one for an id also gets a line (at `ts`) in the conversation. */
  | { t: 'transfer'; transfer: TransferState; ts: number }
  | { t: 'transfer-update'; id: string; change: Partial<TransferState> }
  | { t: 'pins'; pins: Pins }
  | { t: 'settings'; settings: Settings };
