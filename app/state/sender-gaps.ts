// Notices sealed room messages that did not arrive. Each sender numbers its messages per
// room within a stream (a page load); a number that skips ahead means the messages in
// between were dropped or withheld on the way, or sent while this device was away.
// A stream's first message seen here sets the start: nothing before it is claimed.

export class SenderGaps {
  /** room -> "sender key|stream" -> the next number expected. */
  private readonly next = new Map<string, Map<string, number>>();

  /** Records a message; returns how many of the sender's messages before it are missing (0: none). */
  observe(room: string, senderKey: string, stream: string, seq: number): number {
    let streams = this.next.get(room);
    if (!streams) this.next.set(room, (streams = new Map()));
    const id = `${senderKey}|${stream}`;
    const expected = streams.get(id);
    // A late message (below the expected number) was already counted as missing; it shows now.
    if (expected === undefined || seq >= expected) streams.set(id, seq + 1);
    return expected === undefined || seq <= expected ? 0 : seq - expected;
  }

  forget(room: string): void {
    this.next.delete(room);
  }
}
