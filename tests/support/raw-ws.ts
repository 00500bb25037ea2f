// A WebSocket client written straight on a TCP socket, for what the ws client will not
// send: text frames that are not UTF-8, reserved opcodes and bits, unmasked frames,
// oversized control frames, lying length fields, odd close codes. It speaks just
// enough RFC 6455 to open the connection and read what the server sends back.
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { SUBPROTOCOL, WS_PATH } from '../../signal-server/protocol/protocol.ts';

export const Opcode = { continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;

export interface FrameSpec {
  opcode: number;
  payload?: Buffer;
  /** Default true. */
  fin?: boolean;
  /** The three reserved bits, 0-7 (must be 0 without extensions). */
  rsv?: number;
  /** Default true: a client must mask. */
  masked?: boolean;
  /** A length field that does not match the payload (e.g. 2^63 or more than is sent). */
  declaredLength?: bigint;
}

/** Encodes one frame exactly as told. */
export function encodeFrame(spec: FrameSpec): Buffer {
  const payload = spec.payload ?? Buffer.alloc(0);
  const fin = spec.fin ?? true;
  const masked = spec.masked ?? true;
  const length = spec.declaredLength ?? BigInt(payload.length);
  const head: number[] = [(fin ? 0x80 : 0) | ((spec.rsv ?? 0) << 4) | (spec.opcode & 0x0f)];
  let extended = Buffer.alloc(0);
  if (length < 126n) head.push((masked ? 0x80 : 0) | Number(length));
  else if (length < 65536n) {
    head.push((masked ? 0x80 : 0) | 126);
    extended = Buffer.alloc(2);
    extended.writeUInt16BE(Number(length));
  } else {
    head.push((masked ? 0x80 : 0) | 127);
    extended = Buffer.alloc(8);
    extended.writeBigUInt64BE(length);
  }
  if (!masked) return Buffer.concat([Buffer.from(head), extended, payload]);
  const mask = randomBytes(4);
  const body = Buffer.alloc(payload.length);
  for (let i = 0; i < payload.length; i++) body[i] = payload[i] ^ mask[i & 3];
  return Buffer.concat([Buffer.from(head), extended, mask, body]);
}

export interface RawWsEvents {
  text: [text: string];
  binary: [data: Buffer];
  pong: [payload: Buffer];
  /** `code` is the one in the server's close frame, or 1006 when the socket ended without one. */
  close: [code: number, reason: string];
}

export class RawWs extends EventEmitter<RawWsEvents> {
  /** Set once the server's close frame (or the end of the socket) arrived. */
  closeCode?: number;
  /** The first socket error (ECONNRESET, EPIPE...), if any. */
  socketError?: string;
  private buffer: Buffer = Buffer.alloc(0);
  private ended = false;
  /** Until start(), bytes are kept but not parsed: no frame is emitted before the listeners are on. */
  private started = false;
  private closeFrame?: { code: number; reason: string };

  private constructor(private readonly socket: net.Socket) {
    super();
  }

  /** Opens a WebSocket to `/ws` with the Wisp subprotocol; rejects unless the server answers 101. */
  static connect(port: number, timeoutMs = 5000): Promise<RawWs> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error('raw WebSocket: no upgrade in time'));
      }, timeoutMs);
      let head = Buffer.alloc(0);
      const fail = (error: Error) => {
        clearTimeout(timer);
        socket.destroy();
        reject(error);
      };
      socket.once('error', fail);
      socket.once('connect', () => {
        socket.write(
          [
            `GET ${WS_PATH} HTTP/1.1`,
            `Host: 127.0.0.1:${port}`,
            'Upgrade: websocket',
            'Connection: Upgrade',
            `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
            'Sec-WebSocket-Version: 13',
            `Sec-WebSocket-Protocol: ${SUBPROTOCOL}`,
            '',
            '',
          ].join('\r\n'),
        );
      });
      const onData = (chunk: Buffer) => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        socket.off('data', onData);
        socket.off('error', fail);
        clearTimeout(timer);
        const status = head.subarray(0, end).toString('latin1').split('\r\n')[0];
        if (!/^HTTP\/1\.1 101 /.test(status)) return fail(new Error(`raw WebSocket: upgrade refused: ${status}`));
        const ws = new RawWs(socket);
        socket.on('data', (data: Buffer) => ws.onData(data));
        socket.on('error', (error: NodeJS.ErrnoException) => (ws.socketError ??= error.code ?? error.message));
        socket.on('close', () => ws.onEnd());
        // Frames that came with the 101 response wait for start().
        const rest = head.subarray(end + 4);
        if (rest.length > 0) ws.onData(rest);
        resolve(ws);
      };
      socket.on('data', onData);
    });
  }

  /** Emits the frames received so far, and from now on every frame as it arrives. */
  start(): void {
    this.started = true;
    this.onData(Buffer.alloc(0));
    if (this.ended) this.finish();
  }

  get open(): boolean {
    return this.closeCode === undefined && !this.socket.destroyed;
  }

  sendFrame(spec: FrameSpec): void {
    this.write(encodeFrame(spec));
  }

  /** Writes bytes as they are (several frames at once, or half of one). */
  write(bytes: Buffer): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(bytes);
  }

  text(text: string | Buffer): void {
    this.sendFrame({ opcode: Opcode.text, payload: typeof text === 'string' ? Buffer.from(text) : text });
  }

  ping(payload: Buffer): void {
    this.sendFrame({ opcode: Opcode.ping, payload });
  }

  /** Ends the socket at once (no closing handshake). */
  destroy(): void {
    this.socket.destroy();
  }

  /** A polite close: a close frame, then the end of our side. */
  close(code = 1000): void {
    const payload = Buffer.alloc(2);
    payload.writeUInt16BE(code);
    this.sendFrame({ opcode: Opcode.close, payload });
    this.socket.end();
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    if (!this.started) return;
    for (;;) {
      if (this.buffer.length < 2) return;
      const opcode = this.buffer[0] & 0x0f;
      let length = this.buffer[1] & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (this.buffer.length < 4) return;
        length = this.buffer.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (this.buffer.length < 10) return;
        length = Number(this.buffer.readBigUInt64BE(2));
        offset = 10;
      }
      // A server never masks; if it did, the mask would be part of what we skip here.
      if (this.buffer[1] & 0x80) offset += 4;
      if (this.buffer.length < offset + length) return;
      const payload = this.buffer.subarray(offset, offset + length);
      this.buffer = this.buffer.subarray(offset + length);
      this.onFrame(opcode, Buffer.from(payload));
    }
  }

  private onFrame(opcode: number, payload: Buffer): void {
    if (opcode === Opcode.text) this.emit('text', payload.toString('utf8'));
    else if (opcode === Opcode.binary) this.emit('binary', payload);
    else if (opcode === Opcode.pong) this.emit('pong', payload);
    else if (opcode === Opcode.ping) this.sendFrame({ opcode: Opcode.pong, payload });
    else if (opcode === Opcode.close && !this.closeFrame) {
      this.closeFrame = { code: payload.length >= 2 ? payload.readUInt16BE(0) : 1005, reason: payload.subarray(2).toString('utf8') };
      // Answer the closing handshake and end our side; the server ends the TCP connection.
      this.sendFrame({ opcode: Opcode.close, payload: payload.subarray(0, 2) });
      this.socket.end();
      this.finish();
    }
  }

  private onEnd(): void {
    this.ended = true;
    if (this.started) this.finish();
  }

  private finish(): void {
    if (this.closeCode !== undefined) return;
    this.closeCode = this.closeFrame?.code ?? 1006;
    this.emit('close', this.closeCode, this.closeFrame?.reason ?? '');
    if (!this.ended) {
      // Do not wait forever for the server to end the connection.
      setTimeout(() => this.socket.destroy(), 1000).unref();
    }
  }
}
