// File transfers, loaded with the first file call: their code (offers, hashing, limits,
// previews) is not needed to show the app, nor to whisper, and no file can move before a
// link is up. Every call waits on the same promise, so calls run in the order they were made.
import type { FileFrame, FileOptions, FileTransfers } from './files.ts';

export class LazyFileTransfers {
  private ready?: Promise<FileTransfers>;

  constructor(private readonly options: FileOptions) {}

  private run(call: (files: FileTransfers) => unknown): void {
    this.ready ??= import('./files.ts').then(({ FileTransfers }) => new FileTransfers(this.options));
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
