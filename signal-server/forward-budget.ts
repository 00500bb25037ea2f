// What one receiver has waiting to be written from relay and whisper signalling frames:
// bytes per sender and in all, each counted from when the frame is queued until the
// socket has written it (ws's send callback). Limits in LIMITS.forward*MaxBytes.
import { LIMITS } from './protocol/protocol.ts';

export class ForwardBudget {
  private readonly perSender = new Map<object, number>();
  private total = 0;

  constructor(
    private readonly perSenderMax = LIMITS.forwardPerSenderMaxBytes,
    private readonly totalMax = LIMITS.forwardPerReceiverMaxBytes,
  ) {}

  /** Counts `bytes` from `sender` if both budgets have room for them; false (nothing counted) if not. */
  take(sender: object, bytes: number): boolean {
    const queued = this.perSender.get(sender) ?? 0;
    if (queued + bytes > this.perSenderMax) return false;
    if (this.total + bytes > this.totalMax) return false;
    this.perSender.set(sender, queued + bytes);
    this.total += bytes;
    return true;
  }

  /** The socket wrote (or dropped) a frame counted by take(). */
  release(sender: object, bytes: number): void {
    const left = (this.perSender.get(sender) ?? 0) - bytes;
    if (left > 0) this.perSender.set(sender, left);
    else this.perSender.delete(sender);
    this.total = Math.max(0, this.total - bytes);
  }

  /** Bytes from `sender` (or from everyone) not yet written. */
  queued(sender?: object): number {
    return sender === undefined ? this.total : (this.perSender.get(sender) ?? 0);
  }
}
