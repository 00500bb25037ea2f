// The wire contract between the signal server and the app. Both ends validate every
// frame with these schemas. Imported by the browser too: no Node imports here.
import * as v from 'valibot';

/**
 * 2: canonical P-256 identity keys only, a server id in `welcome` (private-room salts name
 * the server), and sealed room messages carry a per-sender stream and sequence number.
 * 3: room history: messages carry a per-room sequence number, `joined` says where the
 * room's history stands, a join may say what it has seen, and the server replays the rest.
 */
export const PROTOCOL_VERSION = 3;
export const SUBPROTOCOL = 'wisp.v1';
export const WS_PATH = '/ws';
export const LOBBY = 'lobby';

/**
 * Every limit and timing lives here, the server's own too (no duration is written anywhere
 * else in signal-server/); the server sends the live protocol values in `welcome`.
 */
export const LIMITS = {
  maxFrameBytes: 64 * 1024,
  nameMinLength: 2,
  nameMaxLength: 24,
  roomNameMaxLength: 32,
  messageMaxLength: 2000,
  farewellMaxLength: 200,
  clientMessageIdMaxLength: 64,
  identityKeyMaxLength: 256,
  maxRoomsPerClient: 20,
  /** Chat messages (`say`): a token bucket refilled at this rate. */
  sayPerMinute: 30,
  sayBurst: 8,
  /** Every other frame shares a looser bucket so WebRTC signalling is not starved. */
  framesPerMinute: 1200,
  framesBurst: 120,
  /** Rate-limit errors tolerated within rateStrikeWindowMs before the socket is closed. */
  rateStrikesBeforeClose: 20,
  rateStrikeWindowMs: 60_000,
  connectionsPerIp: 64,
  reasonMaxLength: 200,
  topicMaxLength: 200,
  secretMaxLength: 256,
  /** Shortest and longest ban with a duration; no duration means until lifted. */
  banMinMs: 1000,
  banMaxMs: 10 * 365 * 24 * 3600_000,
  /** A simple-peer signalling payload (SDP or ICE candidate), opaque to the server. */
  signalMaxLength: 16 * 1024,
  /** A relayed secure-channel frame, base64url: fits the frame limit with room to spare. */
  relayMaxLength: 48 * 1024,
  /** Relay frames have their own bucket: a file over the relay needs many, chat needs few. */
  relayFramesPerMinute: 3000,
  relayFramesBurst: 100,
  /** Files: the operator's maximum, and the lower maximum for files through the server relay. */
  maxFileBytes: 50 * 1024 * 1024,
  relayFileMaxBytes: 5 * 1024 * 1024,
  /**
   * Private rooms: a join carries a verifier (32 bytes, base64url) derived from the
   * passphrase; room messages are sealed. A sealed message holds at most
   * 1 + 12 + 22 + 64 + 3 * messageMaxLength + 16 bytes (version, IV, a header of kind,
   * time, stream, sequence number and cid length, the cid, UTF-8 text, tag): 6,115, or
   * 8,154 base64url characters.
   */
  verifierLength: 43,
  sealedMaxLength: 8192,
  /** Wrong passphrases, per connection and per address, within the window; then wait. */
  passphraseGuessesPerConnection: 5,
  passphraseGuessesPerIp: 10,
  passphraseGuessWindowMs: 10 * 60_000,
  /**
   * Wrong admin tokens and wrong server passwords, each secret counted apart, within the
   * window; then wait. The guesser itself is stopped per connection and per identity key
   * (across reconnects). The per-address count is only an outer bound against a flood of
   * fresh identities: 10x the per-identity limit, so a club behind one NAT (a dozen people
   * who each mistype a few times) never reaches it. Even past it, an identity with no
   * wrong guess of its own still gets its one try (see guess-throttles.ts).
   */
  secretGuessesPerConnection: 3,
  secretGuessesPerIdentity: 5,
  secretGuessesPerIp: 50,
  secretGuessWindowMs: 10 * 60_000,
  /**
   * Keys each guess throttle remembers at most (a connection, an identity, an address): a
   * flood of fresh identities or connections must not grow them without bound. Past it,
   * the key whose last wrong guess is oldest is forgotten. Each key holds at most its
   * limit of timestamps, so a map stays under about a megabyte. A forgotten guesser
   * starts afresh; from one address the address count (always recent) still holds, so
   * only a flood from thousands of addresses within one window can profit.
   */
  guessThrottleMaxKeys: 4096,
  presenceWindowMs: 75,
  /** The default of --heartbeat-ms, and the values it accepts. */
  heartbeatMs: 30_000,
  heartbeatMinMs: 50,
  heartbeatMaxMs: 600_000,
  /** The default of --turn-ttl (seconds a TURN credential stays valid), and the values it accepts. */
  turnTtlSeconds: 3600,
  turnTtlMinSeconds: 60,
  turnTtlMaxSeconds: 7 * 24 * 3600,
  /** --rotate-admin-token: a new admin token this often. */
  adminTokenRotateMs: 60 * 60_000,
  /** Shutting down: close frames get this long to flush before the remaining sockets are cut. */
  shutdownFlushMs: 250,
  /**
   * Durable state (bans.json, rooms.json, ...): at most one write per file this often. A
   * write in flight plus at most one pending, which writes the newest state when it starts.
   */
  storeWriteIntervalMs: 500,
  /**
   * The audit trail: JSON lines appended to audit.log, rotated past this size, keeping this
   * many files (audit.log, audit.log.1, ...); the newest records held in memory for /audit.
   */
  auditLogMaxBytes: 1024 * 1024,
  auditLogFiles: 3,
  auditRecordsInMemory: 500,
  /**
   * Records written to audit.log: a token bucket for the whole server, so a flood by many
   * fresh identities (each with its own topic bucket) cannot push disk writes past a small
   * fixed rate. Records beyond it stay in memory for /audit and are summarised on disk.
   */
  auditWritesPerMinute: 60,
  auditWritesBurst: 300,
  /** Topic changes per person (identity key, across connections): a token bucket. */
  topicChangesPerMinute: 5,
  topicChangesBurst: 3,
  /** Rooms a person creates (by joining a room that does not exist): a token bucket; the burst fills maxRoomsPerClient once. */
  roomCreationsPerMinute: 1,
  roomCreationsBurst: 20,
  /**
   * Chat message ids an identity sent lately, so a message resent after a reconnect is
   * acknowledged again, not sent twice: this many per identity, kept this long after its
   * last connection closed, swept this often.
   */
  recentIdsPerIdentity: 256,
  recentIdsKeepMs: 10 * 60_000,
  recentIdsSweepMs: 60_000,
  /** Cache lifetime of the build's hashed assets (their names change with their content). */
  assetMaxAgeSeconds: 365 * 24 * 3600,
  /** A WebSocket that has not said hello by then is closed (4008). */
  helloTimeoutMs: 10_000,
  /** A socket the server closed that does not answer the close frame is cut after this. */
  closeGraceMs: 5_000,
  /** A client whose unsent backlog grows past this is too slow to keep; it is dropped. */
  sendBufferMaxBytes: 4 * 1024 * 1024,
  /**
   * Relay and whisper signalling frames waiting to be written to one receiver: at most
   * this much from any one sender, and this much from everyone together. A frame beyond
   * either is refused to its sender (receiver-busy), not queued, so nobody can get someone
   * else dropped by filling their backlog. Per sender: a file over the relay needs ten or
   * so 48 KiB frames in flight to keep moving (512 KiB drains in 2 s at 250 KB/s). In all:
   * half the drop limit, so forwarded frames alone never reach it and room messages and
   * server frames (their own path) keep the other half.
   */
  forwardPerSenderMaxBytes: 512 * 1024,
  forwardPerReceiverMaxBytes: 2 * 1024 * 1024,
  /**
   * HTTP against slow clients (slowloris): the request head must arrive within
   * httpHeadersTimeoutMs of the first byte (or of the connection), the whole request within
   * httpRequestTimeoutMs, else 408 and close. Node checks both every httpTimeoutCheckMs, so
   * a slow request lives at most its timeout plus that. An upgraded WebSocket is no longer
   * an HTTP request: these do not apply to it.
   */
  httpHeadersTimeoutMs: 10_000,
  httpRequestTimeoutMs: 30_000,
  httpTimeoutCheckMs: 1_000,
  /** An idle keep-alive HTTP connection is closed after this (Node's default). */
  httpKeepAliveTimeoutMs: 5_000,
  /**
   * Room history, in the server's memory only (never on disk): the defaults of the
   * operator's flags for the newest messages kept per room, how long each is kept, and the
   * bytes kept across all rooms (0 turns each off); and what new members of a room see
   * unless its owner says otherwise (a club expects to see what was just said).
   */
  historyMessages: 200,
  historyMessagesMax: 10_000,
  historyMaxAgeMs: 24 * 3600_000,
  historyMaxBytes: 32 * 1024 * 1024,
  historyNewMembersDefault: 50,
  /** The largest values --history-hours and --history-mb accept. */
  historyMaxAgeMaxMs: 30 * 24 * 3600_000,
  historyMaxBytesMax: 4096 * 1024 * 1024,
  /** Expired history of rooms nobody writes in is freed this often. */
  historySweepMs: 60_000,
  /** Purge times of rooms that are gone, remembered by name for those who come back (oldest forgotten first). */
  historyPurgeMarks: 10_000,
  /**
   * Wisp's local certificate authority (HTTPS on a LAN): the CA lives ten years; the server
   * certificate it issues lives 90 days (browsers refuse more than 397) and is renewed when
   * fewer than 30 remain. A running server re-checks it this often, and looks at the
   * machine's addresses this often (a new address needs a new certificate).
   */
  localCaValidityDays: 3653,
  serverCertValidityDays: 90,
  serverCertValidityMaxDays: 397,
  serverCertRenewBeforeDays: 30,
  serverCertRecheckMs: 12 * 3600_000,
  addressPollMs: 60_000,
  /** The default of --https-port. */
  httpsPort: 8443,
  /**
   * Cluster mode (--redis): each node renews its entry in the node registry this often; an
   * entry not renewed for clusterNodeTtlMs is a dead node, looked for this often, so a dead
   * node's people leave every room after two reaps without it (at most TTL + 2 reaps: 15 s). A lost Redis connection
   * is retried at least this often.
   */
  clusterHeartbeatMs: 2_000,
  clusterNodeTtlMs: 9_000,
  clusterReapMs: 3_000,
  clusterRedisRetryMaxMs: 2_000,
  /** Cluster mode: audit records kept in Redis (a capped stream, trimmed approximately). */
  clusterAuditRecords: 10_000,
  /** A room's description and number in Redis outlive its last member by this much (renewed by every node that has the room). */
  clusterRoomTtlMs: 10_000,
  /** A message Redis could not take is sent again by the app after this long. */
  clusterSayRetryMs: 1_000,
  /** --tls-name: extra host names for the server certificate, at most this many. */
  tlsNamesMax: 32,
  /** --allow-host: extra names the server answers to, at most this many. */
  allowHostsMax: 32,
  /** The allowed Host names are recomputed at most this often, so a new LAN address is served soon after it appears. */
  allowedHostsCacheMs: 10_000,
  /**
   * Strict-Transport-Security max-age with --tls-cert (180 days): long enough to matter,
   * short enough that an operator who goes back to plain HTTP is not locked out for years.
   */
  hstsMaxAgeSeconds: 180 * 24 * 3600,
} as const;

/**
 * WebSocket close codes used by Wisp. The app turns each into a sentence. ws itself
 * closes with framingError, invalidText and tooBig before the hub sees the frame.
 */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  /** A frame that breaks the WebSocket framing (bad opcode, reserved bits, unmasked). */
  framingError: 1002,
  /** A text frame that is not valid UTF-8. */
  invalidText: 1007,
  tooBig: 1009,
  protocolError: 4000,
  rateLimited: 4001,
  shuttingDown: 4002,
  replaced: 4003,
  kicked: 4004,
  banned: 4005,
  unsupportedVersion: 4006,
  tooManyConnections: 4007,
  helloTimeout: 4008,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** Stable error codes carried by `error` frames. */
export const ErrorCode = {
  badJson: 'bad-json',
  badFrame: 'bad-frame',
  unknownType: 'unknown-type',
  binaryFrame: 'binary-frame',
  unsupportedVersion: 'unsupported-version',
  helloFirst: 'hello-first',
  alreadyHello: 'already-hello',
  badSignature: 'bad-signature',
  rateLimited: 'rate-limited',
  nameInvalid: 'name-invalid',
  nameTaken: 'name-taken',
  roomInvalid: 'room-invalid',
  notInRoom: 'not-in-room',
  tooManyRooms: 'too-many-rooms',
  peerUnreachable: 'peer-unreachable',
  forbidden: 'forbidden',
  banned: 'banned',
  notFound: 'not-found',
  roomExists: 'room-exists',
  passwordRequired: 'password-required',
  passwordWrong: 'password-wrong',
  adminWrong: 'admin-wrong',
  throttled: 'throttled',
  passphraseRequired: 'passphrase-required',
  passphraseWrong: 'passphrase-wrong',
  notPrivate: 'not-private',
  sealedOnly: 'sealed-only',
  keyInvalid: 'key-invalid',
  /** A change could not be written to the data directory; the server keeps serving. */
  storeFailed: 'store-failed',
  /** A relay or signal frame was refused: too much is already waiting for that receiver (ref: their peer id). */
  receiverBusy: 'receiver-busy',
  /** A message the shared engine (Redis, in a cluster) could not take just now; it stays queued and is sent again after retryAfterMs (ref: its cid). */
  serverBusy: 'server-busy',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

// ---------------------------------------------------------------------------
// Names and room names: one set of rules, used by both ends.

// Letters, marks, digits and a few joiners. This excludes spaces, control characters
// and bidi overrides by construction.
const NAME_CHARS = /^[\p{L}\p{N}][\p{L}\p{M}\p{N}_.-]*$/u;
const ROOM_CHARS = /^[\p{Ll}\p{Lo}\p{M}\p{N}][\p{Ll}\p{Lo}\p{M}\p{N}_-]*$/u;

export type NameCheck = { ok: true; value: string } | { ok: false; reason: string };

export function checkName(raw: string): NameCheck {
  const value = raw.normalize('NFC').trim();
  const length = [...value].length;
  if (length < LIMITS.nameMinLength) return { ok: false, reason: `A name needs at least ${LIMITS.nameMinLength} characters.` };
  if (length > LIMITS.nameMaxLength) return { ok: false, reason: `A name can have at most ${LIMITS.nameMaxLength} characters.` };
  if (!NAME_CHARS.test(value)) {
    return { ok: false, reason: 'A name may use letters, digits, "_", "." and "-", and must start with a letter or digit.' };
  }
  return { ok: true, value };
}

/** Case-insensitive identity of a name, for uniqueness. */
export function nameKey(name: string): string {
  return name.normalize('NFC').toLowerCase();
}

export function checkRoomName(raw: string): NameCheck {
  const value = raw.normalize('NFC').trim().replace(/^#/, '').toLowerCase();
  const length = [...value].length;
  if (length < 1) return { ok: false, reason: 'A room needs a name.' };
  if (length > LIMITS.roomNameMaxLength) return { ok: false, reason: `A room name can have at most ${LIMITS.roomNameMaxLength} characters.` };
  if (!ROOM_CHARS.test(value)) return { ok: false, reason: 'A room name may use letters, digits, "_" and "-".' };
  return { ok: true, value };
}

// ---------------------------------------------------------------------------
// Identity keys: one spelling per key.

/**
 * An identity key is an ECDSA P-256 public key as SPKI DER (91 bytes: a fixed 27-byte
 * header naming the curve and an uncompressed point), in base64url without padding: 122
 * characters. 91 bytes leave 4 unused bits in the last character, which must be zero,
 * so each key has exactly one spelling here, and keys can be compared as strings.
 * (Whether the point is on the curve is checked by whoever imports the key.)
 */
const IDENTITY_KEY = /^MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE[A-Za-z0-9_-]{85}[AQgw]$/;

export function isCanonicalIdentityKey(key: string): boolean {
  return IDENTITY_KEY.test(key);
}

// ---------------------------------------------------------------------------
// Field schemas

const Name = v.pipe(v.string(), v.maxLength(LIMITS.nameMaxLength * 4));
const RoomName = v.pipe(v.string(), v.minLength(1), v.maxLength(LIMITS.roomNameMaxLength * 4));
const PeerId = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{1,32}$/));
const ClientMessageId = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]+$/), v.maxLength(LIMITS.clientMessageIdMaxLength));
const Base64Url = (max: number) => v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]*$/), v.maxLength(max));
const Timestamp = v.pipe(v.number(), v.safeInteger(), v.minValue(0));
const IdentityKey = v.pipe(v.string(), v.regex(IDENTITY_KEY, 'not a canonical P-256 identity key'));
/** A server's random id (it names the server in private-room salts). */
export const SERVER_ID = /^[A-Za-z0-9_-]{16,64}$/;
const ServerId = v.pipe(v.string(), v.regex(SERVER_ID));
const Count = v.pipe(v.number(), v.safeInteger(), v.minValue(0));
/** A room's history epoch: new when the room is created or the server starts. */
const Epoch = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{1,32}$/));
/** Where a device's copy of a room's history ends: the epoch and the last sequence number it has. */
const HistoryCursor = v.object({ epoch: Epoch, seq: Count });
export type HistoryCursor = v.InferOutput<typeof HistoryCursor>;
const Text = v.pipe(v.string(), v.minLength(1), v.maxLength(LIMITS.messageMaxLength));
const MessageKind = v.picklist(['text', 'action']);
/** What a private room's passphrase proves to the server (it keeps only a hash). */
const Verifier = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]+$/), v.length(LIMITS.verifierLength));
/** A room message sealed with a private room's key: ciphertext the server cannot read. */
const Sealed = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]+$/), v.minLength(40), v.maxLength(LIMITS.sealedMaxLength));
/** Plain text (public rooms) or sealed (private rooms): exactly one of the two. */
const oneBody = (frame: { text?: string; sealed?: string; kind?: string }) =>
  (frame.text === undefined) !== (frame.sealed === undefined) && (frame.sealed === undefined || frame.kind === undefined);
const ONE_BODY = 'needs either "text" (with an optional "kind") or "sealed"';

// ---------------------------------------------------------------------------
// Client -> server

export const HelloSchema = v.object({
  type: v.literal('hello'),
  v: Count,
  /** Identity public key, SPKI, base64url; the hub refuses any but the canonical P-256 form. */
  key: Base64Url(LIMITS.identityKeyMaxLength),
  /** Signature by the identity key over helloSigningInput(challenge nonce). */
  sig: Base64Url(256),
  name: v.optional(Name),
});
/**
 * Joins (or creates) a room; with a verifier, a private one. `since`: a member coming back
 * says what it has seen and gets what it missed; without it, a new member gets what the
 * room shows new members.
 */
export const JoinSchema = v.object({ type: v.literal('join'), room: RoomName, verifier: v.optional(Verifier), since: v.optional(HistoryCursor) });
export const LeaveSchema = v.object({
  type: v.literal('leave'),
  room: RoomName,
  farewell: v.optional(v.pipe(v.string(), v.maxLength(LIMITS.farewellMaxLength))),
});
/** Checked with oneBody() by ClientFrameSchema (a piped object cannot be a variant option's type). */
export const SaySchema = v.object({
  type: v.literal('say'),
  room: RoomName,
  cid: ClientMessageId,
  text: v.optional(Text),
  kind: v.optional(MessageKind),
  sealed: v.optional(Sealed),
});
/** The owner of a private room sets a new passphrase: everyone else must enter it. */
export const RoomPassphraseSchema = v.object({ type: v.literal('room-passphrase'), room: RoomName, verifier: Verifier });
export const RenameSchema = v.object({ type: v.literal('rename'), name: Name });
export const ListRoomsSchema = v.object({ type: v.literal('list-rooms') });
export const PingSchema = v.object({ type: v.literal('ping') });
const Reason = v.optional(v.pipe(v.string(), v.maxLength(LIMITS.reasonMaxLength)));
const Secret = v.pipe(v.string(), v.minLength(1), v.maxLength(LIMITS.secretMaxLength));

/** The server-wide password, when the operator set one. */
export const PasswordSchema = v.object({ type: v.literal('password'), password: Secret });
/** Claims the server admin role for this connection with the operator's token. */
export const AdminSchema = v.object({ type: v.literal('admin'), token: Secret });
export const OpSchema = v.object({ type: v.literal('op'), room: RoomName, target: PeerId });
export const DeopSchema = v.object({ type: v.literal('deop'), room: RoomName, target: PeerId });
export const KickSchema = v.object({ type: v.literal('kick'), room: RoomName, target: PeerId, reason: Reason });
/** A ban from one room, or server-wide when `room` is absent (admin only). */
export const BanSchema = v.object({
  type: v.literal('ban'),
  room: v.optional(RoomName),
  target: PeerId,
  durationMs: v.optional(v.pipe(v.number(), v.safeInteger(), v.minValue(LIMITS.banMinMs), v.maxValue(LIMITS.banMaxMs))),
  reason: Reason,
  byIp: v.optional(v.boolean()),
});
export const UnbanSchema = v.object({ type: v.literal('unban'), ban: v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{1,32}$/)) });
export const ListBansSchema = v.object({ type: v.literal('list-bans'), room: v.optional(RoomName) });
export const UserinfoSchema = v.object({ type: v.literal('userinfo'), target: PeerId });
export const RoomCreateSchema = v.object({ type: v.literal('room-create'), room: RoomName });
export const RoomDeleteSchema = v.object({ type: v.literal('room-delete'), room: RoomName });
export const TopicSchema = v.object({ type: v.literal('topic'), room: RoomName, topic: v.pipe(v.string(), v.maxLength(LIMITS.topicMaxLength)) });
export const PurgeSchema = v.object({ type: v.literal('purge'), room: RoomName });
export const ShutdownSchema = v.object({ type: v.literal('shutdown') });
/**
 * The owner (the admin for a persistent room) sets how many recent messages new members
 * see: 0 keeps no history at all in this room (the server holds none of its messages).
 */
export const RoomHistorySchema = v.object({ type: v.literal('room-history'), room: RoomName, newMembers: v.pipe(Count, v.maxValue(LIMITS.historyMessagesMax)) });
/** The admin asks the server to stop remembering this identity as admin across restarts. */
export const AdminForgetSchema = v.object({ type: v.literal('admin-forget') });
export const AuditSchema = v.object({ type: v.literal('audit'), limit: v.optional(v.pipe(v.number(), v.safeInteger(), v.minValue(1), v.maxValue(LIMITS.auditRecordsInMemory))) });

/** WebRTC signalling for a whisper link; relayed only to someone who shares a room. */
export const SignalSchema = v.object({
  type: v.literal('signal'),
  to: PeerId,
  data: v.pipe(v.string(), v.minLength(1), v.maxLength(LIMITS.signalMaxLength)),
});
/** A secure-channel frame through the server when no data channel opens: ciphertext only. */
export const RelaySchema = v.object({
  type: v.literal('relay'),
  to: PeerId,
  data: v.pipe(Base64Url(LIMITS.relayMaxLength), v.minLength(1)),
});

const ClientFrameVariant = v.variant('type', [
  HelloSchema,
  JoinSchema,
  LeaveSchema,
  SaySchema,
  RenameSchema,
  ListRoomsSchema,
  PingSchema,
  SignalSchema,
  RelaySchema,
  PasswordSchema,
  AdminSchema,
  OpSchema,
  DeopSchema,
  KickSchema,
  BanSchema,
  UnbanSchema,
  ListBansSchema,
  UserinfoSchema,
  RoomCreateSchema,
  RoomDeleteSchema,
  TopicSchema,
  PurgeSchema,
  ShutdownSchema,
  AuditSchema,
  RoomPassphraseSchema,
  RoomHistorySchema,
  AdminForgetSchema,
]);
export const ClientFrameSchema = v.pipe(
  ClientFrameVariant,
  v.check((frame) => frame.type !== 'say' || oneBody(frame), `"say" ${ONE_BODY}`),
);
export type ClientFrame = v.InferOutput<typeof ClientFrameSchema>;
export type HelloFrame = v.InferOutput<typeof HelloSchema>;
export type SayFrame = v.InferOutput<typeof SaySchema>;
export const CLIENT_TYPES: ReadonlySet<string> = new Set(ClientFrameVariant.options.map((o) => o.entries.type.literal));

// ---------------------------------------------------------------------------
// Server -> client

export const RoleSchema = v.picklist(['owner', 'moderator', 'member']);
export type Role = v.InferOutput<typeof RoleSchema>;

/** Ranks, like Matrix power levels: nobody acts on someone of equal or higher rank. */
export const RANK = { member: 0, moderator: 1, owner: 2, admin: 3 } as const;

export function rankOf(role: Role, admin: boolean | undefined): number {
  return admin ? RANK.admin : RANK[role];
}

/** True when the actor holds at least `needed` and strictly outranks the target. */
export function mayActOn(actorRank: number, targetRank: number, needed: number): boolean {
  return actorRank >= needed && actorRank > targetRank;
}
export const MemberSchema = v.object({
  id: PeerId,
  name: Name,
  key: IdentityKey,
  role: RoleSchema,
  /** The server admin (outranks every room role). */
  admin: v.optional(v.literal(true)),
});
export type Member = v.InferOutput<typeof MemberSchema>;

export const LimitsSchema = v.object({
  maxFrameBytes: Count,
  nameMinLength: Count,
  nameMaxLength: Count,
  roomNameMaxLength: Count,
  messageMaxLength: Count,
  farewellMaxLength: Count,
  maxRoomsPerClient: Count,
  sayPerMinute: Count,
  sayBurst: Count,
  maxFileBytes: Count,
  relayFileMaxBytes: Count,
  /** The most messages this server keeps per room (0: it keeps no history). */
  historyMessages: Count,
});
export type WireLimits = v.InferOutput<typeof LimitsSchema>;

export const IceServerSchema = v.object({
  urls: v.union([v.string(), v.array(v.string())]),
  username: v.optional(v.string()),
  credential: v.optional(v.string()),
});

export const ChallengeSchema = v.object({ type: v.literal('challenge'), nonce: Base64Url(64) });
export const WelcomeSchema = v.object({
  type: v.literal('welcome'),
  v: Count,
  id: PeerId,
  name: Name,
  limits: LimitsSchema,
  iceServers: v.array(IceServerSchema),
  server: v.object({
    version: v.string(),
    /** Random, made on the server's first start and kept in its data directory. */
    id: ServerId,
  }),
});
const Topic = v.pipe(v.string(), v.maxLength(LIMITS.topicMaxLength));
export const JoinedSchema = v.object({
  type: v.literal('joined'),
  room: RoomName,
  members: v.array(MemberSchema),
  topic: v.optional(Topic),
  /** Persistent rooms stay when empty and survive restarts. */
  persistent: v.optional(v.boolean()),
  /** A passphrase room: unlisted, and its messages are sealed. */
  private: v.optional(v.literal(true)),
  /**
   * The room's history: `epoch` and `seq` (its last message's sequence number, 0 for none)
   * are what the next join sends as `since`. The messages this join recovers follow this
   * frame, in order, each with `seq` at most this one (for a cursor of another epoch: all
   * of this epoch's). `missed`: some of this epoch's messages after the cursor are gone
   * (older than what the server keeps); whether the cursor's own epoch ended with more the
   * app judges itself (it knows whether it was connected when that server stopped). `newMembers`: how
   * many recent messages new members see (0: the room keeps no history). `purgedAt`: the
   * room was cleared at this server time; devices delete what they kept from before it.
   */
  history: v.object({
    epoch: Epoch,
    seq: Count,
    newMembers: Count,
    missed: v.optional(v.literal(true)),
    purgedAt: v.optional(Timestamp),
  }),
});
export const LeftSchema = v.object({ type: v.literal('left'), room: RoomName });

export const PresenceEventSchema = v.variant('k', [
  v.object({ k: v.literal('join'), member: MemberSchema }),
  v.object({
    k: v.literal('leave'),
    id: PeerId,
    farewell: v.optional(v.pipe(v.string(), v.maxLength(LIMITS.farewellMaxLength))),
    /** Set when a moderator removed them. */
    removed: v.optional(v.object({ kind: v.picklist(['kicked', 'banned', 'rekeyed']), by: Name, reason: Reason })),
  }),
  v.object({ k: v.literal('rename'), id: PeerId, name: Name }),
  v.object({ k: v.literal('role'), id: PeerId, role: RoleSchema, admin: v.optional(v.literal(true)) }),
  v.object({ k: v.literal('topic'), topic: Topic, by: Name }),
]);
export type PresenceEvent = v.InferOutput<typeof PresenceEventSchema>;
export const PresenceSchema = v.object({
  type: v.literal('presence'),
  room: RoomName,
  events: v.array(PresenceEventSchema),
});
/** Checked with oneBody() by ServerFrameSchema. */
export const MessageSchema = v.object({
  type: v.literal('message'),
  room: RoomName,
  id: v.string(),
  from: PeerId,
  name: Name,
  ts: Timestamp,
  text: v.optional(Text),
  kind: v.optional(MessageKind),
  sealed: v.optional(Sealed),
  /** Sealed messages: the sender's identity key, which the seal is bound to. */
  key: v.optional(IdentityKey),
  /** The room's sequence number for it (1, 2, … within the room's epoch). */
  seq: Count,
});
export const AckSchema = v.object({ type: v.literal('ack'), cid: ClientMessageId, id: v.string(), ts: Timestamp, seq: Count });
export const NameSchema = v.object({ type: v.literal('name'), name: Name });
export const RoomsSchema = v.object({
  type: v.literal('rooms'),
  rooms: v.array(v.object({ name: RoomName, members: Count })),
});
export const PongSchema = v.object({ type: v.literal('pong') });
export const PasswordRequiredSchema = v.object({ type: v.literal('password-required') });
/** You were removed from a room (you may come back). */
export const KickedSchema = v.object({ type: v.literal('kicked'), room: RoomName, by: Name, reason: Reason });
/** You were banned from a room, or from the server when `room` is absent. */
export const BannedSchema = v.object({ type: v.literal('banned'), room: v.optional(RoomName), by: Name, reason: Reason, until: v.optional(Timestamp) });
/** The owner cleared the room for everyone: delete what you kept of it from before `at` (server time). */
export const PurgedSchema = v.object({ type: v.literal('purged'), room: RoomName, by: Name, at: Timestamp });
/** You are the server admin; `remembered`: because this server remembers your identity as admin. */
export const AdminGrantedSchema = v.object({ type: v.literal('admin'), remembered: v.optional(v.literal(true)) });
/** A room's history setting changed (sent to its members). */
export const RoomHistorySetSchema = v.object({ type: v.literal('room-history'), room: RoomName, newMembers: Count, by: Name });
/** The server no longer remembers you as admin after a restart. */
export const AdminForgottenSchema = v.object({ type: v.literal('admin-forgotten') });
/** A private room's passphrase changed: the owner stays, everyone else must enter the new one. */
export const PassphraseChangedSchema = v.object({ type: v.literal('passphrase-changed'), room: RoomName, by: Name });
const BanInfo = v.object({
  id: v.string(),
  room: v.optional(RoomName),
  name: v.string(),
  fingerprint: v.optional(v.string()),
  ip: v.optional(v.string()),
  by: v.string(),
  at: Timestamp,
  reason: Reason,
  until: v.optional(Timestamp),
});
export type BanInfo = v.InferOutput<typeof BanInfo>;
/** The bans in a room or on the server; after an `unban`, `lifted` names the ban just lifted. */
export const BansSchema = v.object({
  type: v.literal('bans'),
  room: v.optional(RoomName),
  bans: v.array(BanInfo),
  lifted: v.optional(v.object({ id: v.string(), name: v.string() })),
});
export const UserinfoResultSchema = v.object({
  type: v.literal('userinfo'),
  id: PeerId,
  name: Name,
  ip: v.string(),
  connectedAt: Timestamp,
  fingerprint: v.string(),
  rooms: v.array(RoomName),
  admin: v.boolean(),
});
const AuditEntry = v.object({
  at: Timestamp,
  actor: v.string(),
  action: v.string(),
  target: v.optional(v.string()),
  room: v.optional(v.string()),
  detail: v.optional(v.string()),
});
export type AuditEntry = v.InferOutput<typeof AuditEntry>;
export const AuditResultSchema = v.object({ type: v.literal('audit'), entries: v.array(AuditEntry) });
export const SignalFromSchema = v.object({
  type: v.literal('signal'),
  from: PeerId,
  data: v.pipe(v.string(), v.minLength(1), v.maxLength(LIMITS.signalMaxLength)),
});
export const RelayFromSchema = v.object({
  type: v.literal('relay'),
  from: PeerId,
  data: v.pipe(Base64Url(LIMITS.relayMaxLength), v.minLength(1)),
});
export const ErrorSchema = v.object({
  type: v.literal('error'),
  code: v.string(),
  message: v.string(),
  /** What the error is about: a client message id, a room or a frame type. */
  ref: v.optional(v.string()),
  retryAfterMs: v.optional(Count),
  /**
   * A `banned` refusal: the ban itself, so the app says until when in the reader's own
   * time zone and format (the message, for older apps, says it in UTC).
   */
  ban: v.optional(v.object({ room: v.optional(RoomName), until: v.optional(Timestamp), reason: Reason })),
});

const ServerFrameVariant = v.variant('type', [
  ChallengeSchema,
  WelcomeSchema,
  JoinedSchema,
  LeftSchema,
  PresenceSchema,
  MessageSchema,
  AckSchema,
  NameSchema,
  RoomsSchema,
  PongSchema,
  PasswordRequiredSchema,
  KickedSchema,
  BannedSchema,
  PurgedSchema,
  AdminGrantedSchema,
  AdminForgottenSchema,
  RoomHistorySetSchema,
  PassphraseChangedSchema,
  BansSchema,
  UserinfoResultSchema,
  AuditResultSchema,
  SignalFromSchema,
  RelayFromSchema,
  ErrorSchema,
]);
export const ServerFrameSchema = v.pipe(
  ServerFrameVariant,
  v.check((frame) => frame.type !== 'message' || oneBody(frame), `"message" ${ONE_BODY}`),
);
export type ServerFrame = v.InferOutput<typeof ServerFrameSchema>;
export type ServerFrameOf<T extends ServerFrame['type']> = Extract<ServerFrame, { type: T }>;
export type ClientFrameOf<T extends ClientFrame['type']> = Extract<ClientFrame, { type: T }>;

/** What the identity key signs to answer the server's challenge. */
export function helloSigningInput(nonce: string): Uint8Array {
  return new TextEncoder().encode(`wisp-hello|${PROTOCOL_VERSION}|${nonce}`);
}

// ---------------------------------------------------------------------------
// Parsing

export type ParseResult<T> = { ok: true; frame: T } | { ok: false; code: ErrorCode; message: string; ref?: string };

function parseWith<T>(schema: v.GenericSchema<unknown, T>, knownTypes: ReadonlySet<string>, text: string): ParseResult<T> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return { ok: false, code: ErrorCode.badJson, message: 'The frame is not valid JSON.' };
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return { ok: false, code: ErrorCode.badFrame, message: 'A frame must be a JSON object.' };
  }
  const type = (data as { type?: unknown }).type;
  if (typeof type !== 'string' || !knownTypes.has(type)) {
    return { ok: false, code: ErrorCode.unknownType, message: 'Unknown frame type.', ref: typeof type === 'string' ? type.slice(0, 32) : undefined };
  }
  const result = v.safeParse(schema, data);
  if (!result.success) {
    const issue = result.issues[0];
    const path = issue.path?.map((p) => String(p.key)).join('.') ?? '';
    return { ok: false, code: ErrorCode.badFrame, message: `Invalid "${type}" frame${path ? ` at ${path}` : ''}: ${issue.message}`, ref: type };
  }
  return { ok: true, frame: result.output };
}

const SERVER_TYPES: ReadonlySet<string> = new Set(ServerFrameVariant.options.map((o) => o.entries.type.literal));

export function parseClientFrame(text: string): ParseResult<ClientFrame> {
  return parseWith<ClientFrame>(ClientFrameSchema, CLIENT_TYPES, text);
}

export function parseServerFrame(text: string): ParseResult<ServerFrame> {
  return parseWith<ServerFrame>(ServerFrameSchema, SERVER_TYPES, text);
}
