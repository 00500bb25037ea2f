// File transfers, loaded after first paint: their code (offers, hashing, limits, previews)
// is not needed to show the app, and no link can carry a file before signalling has made
// one, by which time the module is long loaded. Every call waits on the same promise, so
// calls run in the order they were made.
import type { FileFrame, FileOptions, FileTransfers } from './files.ts';

export class LazyFileTransfers {
  private readonly ready: Promise<FileTransfers>;

  constructor(options: FileOptions) {
    this.ready = import('./files.ts').then(({ FileTransfers }) => new FileTransfers(options));
  }

  private run(call: (files: FileTransfers) => unknown): void {
    this.ready.then(call).catch((error: unknown) => console.warn('wisp: file transfer', error));
  }

  send(key: string, files: File[]): void {
    this.run((f) => f.send(key, files));
  }

  accept(id: string): void {
    this.run((f) => f.accept(id));
  }

  decline(id: string): void {
    this.run((f) => f.decline(id));
  }

  cancel(id: string): void {
    this.run((f) => f.cancel(id));
  }

  onLinkClosed(key: string): void {
    this.run((f) => f.onLinkClosed(key));
  }

  onControl(key: string, frame: FileFrame): void {
    this.run((f) => f.onControl(key, frame));
  }

  onChunk(key: string, fid: number, bytes: Uint8Array): void {
    this.run((f) => f.onChunk(key, fid, bytes));
  }
}
