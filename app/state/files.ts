// File behaviour for whisper conversations: offers, accept/decline, progress, cancel,
// limits, and what a received file may become (a preview, or a download card).
import type { PeerFrame } from '../net/peer-frames.ts';
import { chunkParts, encodePeerFrame } from '../net/peer-frames.ts';
import type { PeerLink } from '../net/peer-link.ts';
import { sanitizeFilename } from '../files/sanitize.ts';
import { looksExecutable, previewType } from '../files/magic.ts';
import { IncomingFile, OutgoingFile, randomFileId, type FileLink, type Progress } from '../files/transfer.ts';
import { formatBytes } from '../files/format-bytes.ts';
import { contentHash } from '../files/content-hash.ts';
import type { Store, TransferState } from './store.ts';

export type FileFrame = Extract<PeerFrame, { t: `file-${string}` }>;

export interface FileOptions {
  store: Store;
  /** The live link to an identity, opening one if needed (undefined: no shared room). */
  link(key: string): PeerLink | undefined;
  name(key: string): string;
  notify(title: string, body: string, key: string): void;
}

const MIB = 1024 * 1024;

function transferId(direction: 'in' | 'out', key: string, fid: number): string {
  return `${direction}-${key.slice(-16)}-${fid}`;
}

export class FileTransfers {
  /** Offered files, kept in memory as hashed until they are sent, declined or cancelled. */
  private readonly outgoing = new Map<string, { bytes: Uint8Array; sender?: OutgoingFile }>();
  private readonly incoming = new Map<string, IncomingFile>();
  /** Hashes announced in offers, until accepted or declined. */
  private readonly offers = new Map<string, string>();

  constructor(private readonly options: FileOptions) {}

  private get state() {
    return this.options.store.state;
  }

  private update(id: string, change: Partial<TransferState>): void {
    this.options.store.dispatch({ t: 'transfer-update', id, change });
  }

  /** The most this device accepts: the operator's limit, lowered by the person's setting. */
  receiveLimit(): number {
    const server = this.state.limits?.maxFileBytes ?? 50 * MIB;
    const own = this.state.settings.maxFileMb;
    return own > 0 ? Math.min(server, own * MIB) : server;
  }

  async send(key: string, files: File[]): Promise<void> {
    for (const file of files) await this.offer(key, file);
  }

  private async offer(key: string, file: File): Promise<void> {
    const fid = randomFileId();
    const id = transferId('out', key, fid);
    const name = this.options.name(key);
    const base: TransferState = {
      id, key, fid, direction: 'out', name: sanitizeFilename(file.name), size: file.size, declaredType: file.type,
      status: 'waiting', bytes: 0, rate: 0, remaining: Infinity,
    };
    this.options.store.dispatch({ t: 'transfer', transfer: base, ts: Date.now() });
    const serverLimit = this.state.limits?.maxFileBytes ?? 50 * MIB;
    if (file.size > serverLimit) {
      return this.update(id, { status: 'failed', sentence: `This server allows files up to ${formatBytes(serverLimit)}; this one is ${formatBytes(file.size)}.` });
    }
    const link = this.options.link(key);
    if (!link) return this.update(id, { status: 'failed', sentence: `${name} is not in any room with you, so the file cannot be sent.` });
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await file.arrayBuffer());
    } catch {
      return this.update(id, { status: 'failed', sentence: `${base.name} could not be read; it may have been moved or deleted.` });
    }
    // The sender sees what they send, by the same test the receiver's preview uses (never an SVG).
    const picture = previewType(bytes.subarray(0, 16));
    if (picture) this.update(id, { thumbnail: file.slice(0, file.size, picture) });
    const hash = await contentHash(bytes);
    if (this.state.transfers[id]?.status !== 'waiting') return;
    this.outgoing.set(id, { bytes });
    link.send(encodePeerFrame({ t: 'file-offer', fid, name: file.name || 'file', size: bytes.length, type: file.type.slice(0, 255), hash })).catch(() => {
      this.fail(id, `The connection to ${name} was lost before the offer went out.`);
    });
  }

  accept(id: string): void {
    const transfer = this.state.transfers[id];
    const link = transfer && this.options.link(transfer.key);
    if (!transfer || transfer.status !== 'offered' || !link) return;
    const incoming = new IncomingFile(transfer.fid, transfer.size, this.offers.get(id)!, this.receiveLimit(), (p) => this.progress(id, p));
    this.incoming.set(id, incoming);
    this.update(id, { status: 'receiving' });
    void link.send(encodePeerFrame({ t: 'file-accept', fid: transfer.fid })).catch(() => undefined);
  }

  decline(id: string): void {
    const transfer = this.state.transfers[id];
    if (!transfer || transfer.status !== 'offered') return;
    this.offers.delete(id);
    this.update(id, { status: 'declined', sentence: 'You declined this file.' });
    void this.options.link(transfer.key)?.send(encodePeerFrame({ t: 'file-decline', fid: transfer.fid, reason: 'declined' })).catch(() => undefined);
  }

  cancel(id: string): void {
    const transfer = this.state.transfers[id];
    if (!transfer || !['offered', 'waiting', 'sending', 'receiving'].includes(transfer.status)) return;
    this.stop(id);
    this.update(id, { status: 'cancelled', sentence: 'You cancelled this transfer.' });
    void this.options.link(transfer.key)?.send(encodePeerFrame({ t: 'file-cancel', fid: transfer.fid, reason: 'cancelled' })).catch(() => undefined);
  }

  /** The link to this person closed: every transfer with them that was under way fails. */
  onLinkClosed(key: string): void {
    for (const transfer of Object.values(this.state.transfers)) {
      if (transfer.key !== key || !['offered', 'waiting', 'sending', 'receiving', 'checking'].includes(transfer.status)) continue;
      this.fail(transfer.id, `The connection to ${this.options.name(key)} was lost; ${transfer.direction === 'in' ? 'the partial file was discarded' : 'the file was not sent completely'}.`);
    }
  }

  onControl(key: string, frame: FileFrame): void {
    const name = this.options.name(key);
    switch (frame.t) {
      case 'file-offer':
        return this.onOffer(key, frame);
      case 'file-accept': {
        const id = transferId('out', key, frame.fid);
        const entry = this.outgoing.get(id);
        const link = this.options.link(key);
        if (!entry || !link || this.state.transfers[id]?.status !== 'waiting') return;
        if (link.path === 'relay' && entry.bytes.length > this.relayLimit()) {
          this.stop(id);
          this.update(id, { status: 'failed', sentence: this.relaySentence(name) });
          void link.send(encodePeerFrame({ t: 'file-cancel', fid: frame.fid, reason: 'cancelled' })).catch(() => undefined);
          return;
        }
        const fileLink: FileLink = {
          maxChunkBytes: link.maxPlaintextBytes,
          control: (f) => void link.send(encodePeerFrame(f)).catch(() => undefined),
          chunk: (fid, bytes) => link.sendChunk(chunkParts(fid, bytes)),
        };
        entry.sender = new OutgoingFile(frame.fid, entry.bytes, fileLink, (p) => this.progress(id, p));
        this.update(id, { status: 'sending' });
        entry.sender.send().then(
          () => this.state.transfers[id]?.status === 'sending' && this.update(id, { status: 'checking' }),
          () => this.fail(id, `The connection to ${name} was lost; the file was not sent completely.`),
        );
        return;
      }
      case 'file-decline': {
        const id = transferId('out', key, frame.fid);
        this.stop(id);
        const sentence =
          frame.reason === 'too-large'
            ? `${name} accepts files up to ${formatBytes(frame.limit ?? 0)}; this one is too large.`
            : frame.reason === 'relay-limit'
              ? this.relaySentence(name)
              : `${name} declined the file.`;
        return this.update(id, { status: 'declined', sentence });
      }
      case 'file-cancel': {
        // Either side may cancel: look for it both ways.
        for (const direction of ['in', 'out'] as const) {
          const id = transferId(direction, key, frame.fid);
          const transfer = this.state.transfers[id];
          if (!transfer || ['done', 'failed', 'cancelled', 'declined'].includes(transfer.status)) continue;
          this.stop(id);
          const sentence =
            frame.reason === 'too-large'
              ? `${name} stopped the transfer: more data arrived than was announced.`
              : frame.reason === 'failed'
                ? `The file did not arrive intact at ${name}.`
                : `${name} cancelled this transfer.`;
          this.update(id, { status: frame.reason === 'cancelled' ? 'cancelled' : 'failed', sentence });
        }
        return;
      }
      case 'file-end':
        return void this.onEnd(key, frame.fid);
      case 'file-result': {
        const id = transferId('out', key, frame.fid);
        this.outgoing.delete(id);
        return this.update(id, frame.ok ? { status: 'done', bytes: this.state.transfers[id]?.size ?? 0, remaining: 0 } : { status: 'failed', sentence: `The file did not arrive intact at ${name}.` });
      }
    }
  }

  onChunk(key: string, fid: number, bytes: Uint8Array): void {
    const id = transferId('in', key, fid);
    const incoming = this.incoming.get(id);
    if (!incoming) return;
    if (incoming.add(bytes) === 'too-large') {
      this.incoming.delete(id);
      this.update(id, { status: 'failed', sentence: `${this.options.name(key)} sent more than announced or allowed; the transfer was stopped and the partial file discarded.` });
      void this.options.link(key)?.send(encodePeerFrame({ t: 'file-cancel', fid, reason: 'too-large' })).catch(() => undefined);
    }
  }

  private onOffer(key: string, frame: Extract<FileFrame, { t: 'file-offer' }>): void {
    const id = transferId('in', key, frame.fid);
    if (this.state.transfers[id]) return;
    const name = this.options.name(key);
    const transfer: TransferState = {
      id, key, fid: frame.fid, direction: 'in', name: sanitizeFilename(frame.name), size: frame.size, declaredType: frame.type,
      status: 'offered', bytes: 0, rate: 0, remaining: Infinity,
    };
    this.options.store.dispatch({ t: 'transfer', transfer, ts: Date.now() });
    const link = this.options.link(key);
    const limit = this.receiveLimit();
    // Refused before a single byte moves.
    if (frame.size > limit) {
      this.update(id, { status: 'declined', sentence: `${name} offered ${formatBytes(frame.size)}; you accept files up to ${formatBytes(limit)}.` });
      void link?.send(encodePeerFrame({ t: 'file-decline', fid: frame.fid, reason: 'too-large', limit })).catch(() => undefined);
      return;
    }
    if (link?.path === 'relay' && frame.size > this.relayLimit()) {
      this.update(id, { status: 'declined', sentence: this.relaySentence(name) });
      void link.send(encodePeerFrame({ t: 'file-decline', fid: frame.fid, reason: 'relay-limit' })).catch(() => undefined);
      return;
    }
    this.offers.set(id, frame.hash);
    this.options.notify(`${name} wants to send you a file`, `${transfer.name} (${formatBytes(frame.size)})`, key);
  }

  private async onEnd(key: string, fid: number): Promise<void> {
    const id = transferId('in', key, fid);
    const incoming = this.incoming.get(id);
    if (!incoming) return;
    this.incoming.delete(id);
    this.update(id, { status: 'checking' });
    const result = await incoming.finish();
    const link = this.options.link(key);
    if (!result.ok) {
      const sentence = result.failure === 'short' ? 'The file arrived incomplete and was discarded.' : 'The file did not match its checksum and was discarded.';
      this.update(id, { status: 'failed', sentence });
      void link?.send(encodePeerFrame({ t: 'file-result', fid, ok: false })).catch(() => undefined);
      return;
    }
    const transfer = this.state.transfers[id];
    const preview = previewType(result.head);
    // Only a detected image keeps an image type; anything else is bytes to save, never to render.
    const blob = new Blob([result.blob], { type: preview ?? 'application/octet-stream' });
    this.update(id, {
      status: 'done',
      bytes: transfer?.size ?? blob.size,
      remaining: 0,
      url: URL.createObjectURL(blob),
      preview,
      executable: looksExecutable(transfer?.name ?? '', result.head),
    });
    void link?.send(encodePeerFrame({ t: 'file-result', fid, ok: true })).catch(() => undefined);
  }

  private progress(id: string, progress: Progress): void {
    this.update(id, { bytes: progress.bytes, rate: progress.rate, remaining: progress.remaining });
  }

  private fail(id: string, sentence: string): void {
    this.stop(id);
    const transfer = this.state.transfers[id];
    if (transfer && !['done', 'declined', 'cancelled', 'failed'].includes(transfer.status)) this.update(id, { status: 'failed', sentence });
  }

  private stop(id: string): void {
    this.outgoing.get(id)?.sender?.cancel();
    this.outgoing.delete(id);
    this.incoming.get(id)?.discard();
    this.incoming.delete(id);
    this.offers.delete(id);
  }

  private relayLimit(): number {
    return this.state.limits?.relayFileMaxBytes ?? 0;
  }

  private relaySentence(name: string): string {
    const limit = this.relayLimit();
    return limit > 0
      ? `No direct connection to ${name} could be made, and files through the server are limited to ${formatBytes(limit)}.`
      : `No direct connection to ${name} could be made, and this server does not carry files.`;
  }
}
