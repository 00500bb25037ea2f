// The moderation commands: admin login, op/deop, kick, ban/unban, bans, userinfo,
// persistent rooms, topic, purge, shutdown and the audit trail. Every action is checked
// against ranks, and every change is written to the data directory and the audit trail.
import { createHash, randomBytes } from 'node:crypto';
import { CloseCode, ErrorCode, LIMITS, LOBBY, RANK, checkRoomName, mayActOn, rankOf, type AuditEntry, type BanInfo, type ClientFrameOf } from './protocol/protocol.ts';
import type { Config } from './config.ts';
import type { Connection } from './connection.ts';
import type { Rooms } from './rooms.ts';
import type { Peer } from './peer.ts';
import type { Ban, Store } from './store.ts';
import { banActive, findBan } from './ban-matching.ts';
import type { GuessThrottles, SharedCounts } from './guess-throttles.ts';
import type { ChangeThrottles } from './change-throttles.ts';
import { tokenMatches } from './hashed-secrets.ts';

export interface ModeratorContext {
  readonly rooms: Rooms;
  readonly store: Store;
  readonly config: Config;
  /** Shared by every node in a cluster (then each wait is a promise). */
  readonly guesses: GuessThrottles<SharedCounts | undefined>;
  readonly changes: ChangeThrottles;
  /** Someone on this node or, in a cluster, on another. */
  byId(id: string): Peer | undefined;
  connections(): Iterable<Peer>;
  /** Stops the whole server (after telling everyone). */
  shutdown(): void;
}

export function fingerprintOf(key: string): string {
  return createHash('sha256').update(Buffer.from(key, 'base64url')).digest('hex');
}

function describeDuration(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes < 120) return `${minutes} min`;
  const hours = Math.round(minutes / 60);
  return hours < 48 ? `${hours} h` : `${Math.round(hours / 24)} days`;
}

export class Moderator {
  constructor(private readonly ctx: ModeratorContext) {}

  /** A room's effective rank for this connection. */
  rank(conn: Pick<Peer, 'key' | 'admin'>, room: string): number {
    return rankOf(this.ctx.rooms.roleOf(room, conn.key) ?? 'member', conn.admin);
  }

  /** The active ban stopping this person from the server (undefined room) or a room. */
  banFor(conn: Pick<Connection, 'key' | 'ip'>, room?: string): Ban | undefined {
    return findBan(this.ctx.store.bans, conn, room);
  }

  banSentence(ban: Ban): string {
    const where = ban.room ? `#${ban.room}` : 'this server';
    const until = ban.until ? ` until ${new Date(ban.until).toISOString().replace('T', ' ').slice(0, 16)} UTC` : '';
    return `You are banned from ${where}${until}${ban.reason ? `: ${ban.reason}` : '.'}`;
  }

  /** The refusal of a banned person: the sentence, and the ban's parts for the app to say in local time. */
  refuseBanned(conn: Connection, ban: Ban, ref: string): void {
    conn.error(ErrorCode.banned, this.banSentence(ban), { ref, ban: { room: ban.room, until: ban.until, reason: ban.reason } });
  }

  onAdmin(conn: Connection, frame: ClientFrameOf<'admin'>): Promise<void> | void {
    // Only this identity's and this connection's own wrong tokens stop it, never a
    // neighbour's on the same address (guess-throttles.ts explains the address bound).
    const wait = this.ctx.guesses.secretWait('admin-token', conn);
    // A cluster reads the counts every node shares first; one node decides at once.
    if (typeof wait !== 'number') return wait.then((ms) => this.checkAdminToken(conn, frame, ms));
    return this.checkAdminToken(conn, frame, wait);
  }

  private checkAdminToken(conn: Connection, frame: ClientFrameOf<'admin'>, wait: number): Promise<void> | void {
    if (wait > 0) return conn.error(ErrorCode.throttled, 'Too many wrong admin tokens; wait a few minutes.', { ref: 'admin', retryAfterMs: wait });
    if (!tokenMatches(frame.token, this.ctx.store.adminTokenHash)) {
      this.ctx.guesses.secretFailed('admin-token', conn);
      void this.audit(conn, 'admin-denied');
      return conn.error(ErrorCode.adminWrong, 'That admin token is not right.', { ref: 'admin' });
    }
    conn.admin = true;
    this.ctx.rooms.adminChanged(conn);
    conn.send({ type: 'admin' });
    const known = this.ctx.store.admins.has(conn.key);
    if (!known) this.ctx.store.admins.add(conn.key);
    void this.audit(conn, 'admin-granted', undefined, undefined, known ? undefined : 'remembered as admin after restarts');
    // The grant stands on this connection even if the disk refuses: only the memory of it fails.
    if (!known) return this.ctx.store.saveAdmins();
  }

  /** The admin asks not to be admin after a restart; the rights on this connection stay. */
  onAdminForget(conn: Connection): Promise<void> | void {
    if (!conn.admin) return this.forbidden(conn, 'admin-forget', 'Only the server admin can ask to be forgotten as admin.');
    const known = this.ctx.store.admins.delete(conn.key);
    conn.send({ type: 'admin-forgotten' });
    if (!known) return;
    void this.audit(conn, 'admin-forgotten');
    return this.ctx.store.saveAdmins();
  }

  onRole(conn: Connection, frame: ClientFrameOf<'op'> | ClientFrameOf<'deop'>): void {
    const found = this.target(conn, frame.room, frame.target, frame.type);
    if (!found) return;
    const { room, target } = found;
    // Only the owner (or the admin) makes and unmakes moderators.
    if (!mayActOn(this.rank(conn, room), this.rank(target, room), RANK.owner)) return this.forbidden(conn, frame.type);
    this.ctx.rooms.setRole(room, target.key, frame.type === 'op' ? 'moderator' : 'member');
    if (this.ctx.rooms.isPersistent(room)) void this.persistRoom(room);
    void this.audit(conn, frame.type, target, room);
  }

  onKick(conn: Connection, frame: ClientFrameOf<'kick'>): void {
    const found = this.target(conn, frame.room, frame.target, 'kick');
    if (!found) return;
    const { room, target } = found;
    if (!mayActOn(this.rank(conn, room), this.rank(target, room), RANK.moderator)) return this.forbidden(conn, 'kick');
    const reason = frame.reason?.trim() || undefined;
    this.ctx.rooms.removeBy(target, room, { kind: 'kicked', by: conn.name, reason });
    target.send({ type: 'kicked', room, by: conn.name, reason });
    void this.audit(conn, 'kick', target, room, reason);
  }

  async onBan(conn: Connection, frame: ClientFrameOf<'ban'>): Promise<void> {
    const target = this.ctx.byId(frame.target);
    if (!target || !target.welcomed) return conn.error(ErrorCode.notFound, 'That person is not connected.', { ref: frame.target });
    const reason = frame.reason?.trim() || undefined;
    const now = Date.now();
    let room: string | undefined;
    if (frame.room !== undefined) {
      const checked = checkRoomName(frame.room);
      if (!checked.ok) return conn.error(ErrorCode.roomInvalid, checked.reason, { ref: frame.room });
      room = checked.value;
      if (!mayActOn(this.rank(conn, room), this.rank(target, room), RANK.moderator)) return this.forbidden(conn, 'ban');
    } else if (!mayActOn(conn.admin ? RANK.admin : 0, target.admin ? RANK.admin : 0, RANK.admin)) {
      return this.forbidden(conn, 'ban', 'Only the server admin can ban from the whole server.');
    }
    // A ban by address must never shut out the one who bans (behind one NAT or an
    // untrusted proxy everyone shares an address; the admin could not even come back).
    if (frame.byIp && target.ip === conn.ip) {
      return this.forbidden(conn, 'ban', 'You share an address with them, so a ban by address would shut you out too. Ban without --ip.');
    }
    const ban: Ban = {
      id: randomBytes(6).toString('base64url'),
      room,
      key: target.key,
      ip: frame.byIp ? target.ip : undefined,
      name: target.name,
      by: conn.name,
      byKey: conn.key,
      at: now,
      reason,
      until: frame.durationMs ? now + frame.durationMs : undefined,
    };
    this.ctx.store.bans.push(ban);
    await this.ctx.store.saveBans();
    const removal = { kind: 'banned' as const, by: conn.name, reason };
    if (room) {
      this.ctx.rooms.removeBy(target, room, removal);
      target.send({ type: 'banned', room, by: conn.name, reason, until: ban.until });
    } else {
      // Everyone matching the ban (its identity, and its address when asked) leaves the server.
      for (const other of [...this.ctx.connections()]) {
        if (!other.welcomed || !findBan([ban], other)) continue;
        for (const name of [...this.ctx.rooms.roomsOf(other)]) this.ctx.rooms.removeBy(other, name, removal);
        other.send({ type: 'banned', by: conn.name, reason, until: ban.until });
        other.close(CloseCode.banned, 'banned');
      }
    }
    const detail = [reason, frame.durationMs ? `for ${describeDuration(frame.durationMs)}` : undefined, frame.byIp ? 'by address too' : undefined].filter(Boolean).join('; ');
    void this.audit(conn, 'ban', target, room, detail || undefined);
  }

  async onUnban(conn: Connection, frame: ClientFrameOf<'unban'>): Promise<void> {
    const index = this.ctx.store.bans.findIndex((b) => b.id === frame.ban);
    const ban = this.ctx.store.bans[index];
    if (!ban) return conn.error(ErrorCode.notFound, 'There is no such ban. /bans lists them.', { ref: frame.ban });
    const allowed = ban.room ? this.rank(conn, ban.room) >= RANK.moderator : conn.admin;
    if (!allowed) return this.forbidden(conn, 'unban');
    this.ctx.store.bans.splice(index, 1);
    await this.ctx.store.saveBans();
    conn.send({ type: 'bans', room: ban.room, bans: this.listBans(conn, ban.room), lifted: { id: ban.id, name: ban.name } });
    void this.audit(conn, 'unban', { name: ban.name }, ban.room);
  }

  /** A user room ended: its bans go with it (they would otherwise bind whoever reuses the name). */
  roomEnded(room: string): void {
    const before = this.ctx.store.bans.length;
    this.ctx.store.bans = this.ctx.store.bans.filter((b) => b.room !== room);
    if (this.ctx.store.bans.length !== before) {
      this.ctx.store.saveBans().catch((error: unknown) => console.error(`wisp: could not save bans.json: ${(error as Error).message}`));
    }
  }

  onListBans(conn: Connection, frame: ClientFrameOf<'list-bans'>): void {
    const room = frame.room === undefined ? undefined : checkRoomName(frame.room);
    if (room && !room.ok) return conn.error(ErrorCode.roomInvalid, room.reason, { ref: frame.room });
    const name = room?.ok ? room.value : undefined;
    const allowed = name ? this.rank(conn, name) >= RANK.moderator : conn.admin;
    if (!allowed) return this.forbidden(conn, 'list-bans');
    conn.send({ type: 'bans', room: name, bans: this.listBans(conn, name) });
  }

  onUserinfo(conn: Connection, frame: ClientFrameOf<'userinfo'>): void {
    // Addresses are for the admin only, ever.
    if (!conn.admin) return this.forbidden(conn, 'userinfo', 'Only the server admin can see who is behind a name.');
    const target = this.ctx.byId(frame.target);
    if (!target || !target.welcomed) return conn.error(ErrorCode.notFound, 'That person is not connected.', { ref: frame.target });
    conn.send({
      type: 'userinfo',
      id: target.id,
      name: target.name,
      ip: target.ip,
      connectedAt: target.connectedAt,
      fingerprint: fingerprintOf(target.key),
      rooms: [...this.ctx.rooms.roomsOf(target)],
      admin: target.admin,
    });
    void this.audit(conn, 'userinfo', target);
  }

  async onRoomCreate(conn: Connection, frame: ClientFrameOf<'room-create'>): Promise<void> {
    if (!conn.admin) return this.forbidden(conn, 'room-create', 'Only the server admin can create persistent rooms.');
    const checked = checkRoomName(frame.room);
    if (!checked.ok) return conn.error(ErrorCode.roomInvalid, checked.reason, { ref: frame.room });
    const name = checked.value;
    if (this.ctx.rooms.isPersistent(name)) return conn.error(ErrorCode.roomExists, `#${name} is already a persistent room.`, { ref: name });
    if (this.ctx.rooms.isPrivate(name)) return conn.error(ErrorCode.roomExists, `#${name} is a private room; it cannot be made persistent.`, { ref: name });
    this.ctx.rooms.addPersistent({ name, topic: this.ctx.rooms.topicOf(name), moderators: [] });
    await this.persistRoom(name);
    conn.send({ type: 'rooms', rooms: this.ctx.rooms.list() });
    void this.audit(conn, 'room-create', undefined, name);
  }

  async onRoomDelete(conn: Connection, frame: ClientFrameOf<'room-delete'>): Promise<void> {
    if (!conn.admin) return this.forbidden(conn, 'room-delete', 'Only the server admin can delete persistent rooms.');
    const checked = checkRoomName(frame.room);
    if (!checked.ok) return conn.error(ErrorCode.roomInvalid, checked.reason, { ref: frame.room });
    const name = checked.value;
    if (name === LOBBY) return this.forbidden(conn, 'room-delete', 'The lobby cannot be deleted.');
    if (!this.ctx.rooms.isPersistent(name)) return conn.error(ErrorCode.notFound, `#${name} is not a persistent room.`, { ref: name });
    this.ctx.rooms.deleteRoom(name);
    this.ctx.store.rooms = this.ctx.store.rooms.filter((r) => r.name !== name);
    await this.ctx.store.saveRooms();
    conn.send({ type: 'rooms', rooms: this.ctx.rooms.list() });
    void this.audit(conn, 'room-delete', undefined, name);
  }

  onTopic(conn: Connection, frame: ClientFrameOf<'topic'>): void | Promise<void> {
    const checked = checkRoomName(frame.room);
    if (!checked.ok) return conn.error(ErrorCode.roomInvalid, checked.reason, { ref: frame.room });
    const room = checked.value;
    if (!this.ctx.rooms.roomsOf(conn).has(room) && !conn.admin) return conn.error(ErrorCode.notInRoom, `You are not in #${room}.`, { ref: room });
    if (this.rank(conn, room) < RANK.moderator) return this.forbidden(conn, 'topic', 'Only the owner and moderators can set the topic.');
    if (!this.ctx.rooms.has(room)) return conn.error(ErrorCode.notFound, `There is no room #${room}.`, { ref: room });
    // The admin is not limited: one person, trusted with the whole server anyway.
    const wait = conn.admin ? 0 : this.ctx.changes.topics.take(conn.key);
    // A cluster's buckets are shared by every node (a promise); one node's answer at once.
    if (typeof wait !== 'number') return wait.then((ms) => void (this.ctx.rooms.has(room) && this.setTopic(conn, room, frame.topic, ms)));
    this.setTopic(conn, room, frame.topic, wait);
  }

  private setTopic(conn: Connection, room: string, text: string, wait: number): void {
    if (wait > 0) {
      const sentence = `You can change topics at most ${LIMITS.topicChangesPerMinute} times a minute; try again in ${Math.ceil(wait / 1000)} s.`;
      return conn.error(ErrorCode.throttled, sentence, { ref: 'topic', retryAfterMs: wait });
    }
    const topic = text.trim();
    this.ctx.rooms.setTopic(room, topic, conn.name);
    if (this.ctx.rooms.isPersistent(room)) void this.persistRoom(room);
    void this.audit(conn, 'topic', undefined, room);
  }

  onPurge(conn: Connection, frame: ClientFrameOf<'purge'>): void {
    const checked = checkRoomName(frame.room);
    if (!checked.ok) return conn.error(ErrorCode.roomInvalid, checked.reason, { ref: frame.room });
    const room = checked.value;
    if (this.rank(conn, room) < RANK.owner) return this.forbidden(conn, 'purge', 'Only the owner can purge a room.');
    if (!this.ctx.rooms.has(room)) return conn.error(ErrorCode.notFound, `There is no room #${room}.`, { ref: room });
    const removed = this.ctx.rooms.purge(room, conn.name);
    if (this.ctx.rooms.isPersistent(room)) void this.persistRoom(room);
    void this.audit(conn, 'purge', undefined, room, `${removed.length} removed`);
  }

  /** The owner of a user room (the admin for a persistent one) sets how many recent messages new members see. */
  onRoomHistory(conn: Connection, frame: ClientFrameOf<'room-history'>): void {
    const checked = checkRoomName(frame.room);
    if (!checked.ok) return conn.error(ErrorCode.roomInvalid, checked.reason, { ref: frame.room });
    const room = checked.value;
    if (!this.ctx.rooms.has(room)) return conn.error(ErrorCode.notFound, `There is no room #${room}.`, { ref: room });
    const needed = this.ctx.rooms.isPersistent(room) ? RANK.admin : RANK.owner;
    if (this.rank(conn, room) < needed) return this.forbidden(conn, 'room-history', 'Only the owner (the server admin for a persistent room) can change what new members see.');
    const set = this.ctx.rooms.setNewMembers(room, frame.newMembers, conn);
    if (this.ctx.rooms.isPersistent(room)) void this.persistRoom(room);
    void this.audit(conn, 'room-history', undefined, room, `new members see ${set} messages`);
  }

  /** The owner of a private room sets a new passphrase; the old one admits nobody from now on. */
  onRoomPassphrase(conn: Connection, frame: ClientFrameOf<'room-passphrase'>): void {
    const checked = checkRoomName(frame.room);
    if (!checked.ok) return conn.error(ErrorCode.roomInvalid, checked.reason, { ref: frame.room });
    const room = checked.value;
    if (!this.ctx.rooms.roomsOf(conn).has(room)) return conn.error(ErrorCode.notInRoom, `You are not in #${room}.`, { ref: room });
    if (!this.ctx.rooms.isPrivate(room)) return conn.error(ErrorCode.notPrivate, `#${room} is a public room; it has no passphrase.`, { ref: room });
    if (this.rank(conn, room) < RANK.owner) return this.forbidden(conn, 'room-passphrase', 'Only the owner can change the passphrase.');
    const removed = this.ctx.rooms.changeVerifier(room, frame.verifier, conn);
    void this.audit(conn, 'passphrase-change', undefined, room, `${removed.length} must enter the new passphrase`);
  }

  onShutdown(conn: Connection): void {
    if (!conn.admin) return this.forbidden(conn, 'shutdown', 'Only the server admin can shut the server down.');
    void this.audit(conn, 'shutdown').finally(() => this.ctx.shutdown());
  }

  onAudit(conn: Connection, frame: ClientFrameOf<'audit'>): void {
    if (!conn.admin) return this.forbidden(conn, 'audit', 'Only the server admin can read the audit trail.');
    const entries: AuditEntry[] = this.ctx.store.audit.slice(-(frame.limit ?? 50));
    conn.send({ type: 'audit', entries });
  }

  private listBans(conn: Connection, room: string | undefined): BanInfo[] {
    return this.ctx.store.bans
      .filter((b) => b.room === room && banActive(b))
      .map((b) => ({
        id: b.id,
        room: b.room,
        name: b.name,
        fingerprint: b.key ? fingerprintOf(b.key).slice(0, 16) : undefined,
        // Addresses are shown to the admin only.
        ip: conn.admin ? b.ip : undefined,
        by: b.by,
        at: b.at,
        reason: b.reason,
        until: b.until,
      }));
  }

  /** Resolves the room and the target of a room command, or answers with an error. */
  private target(conn: Connection, rawRoom: string, targetId: string, ref: string): { room: string; target: Peer } | undefined {
    const checked = checkRoomName(rawRoom);
    if (!checked.ok) {
      conn.error(ErrorCode.roomInvalid, checked.reason, { ref });
      return undefined;
    }
    const target = this.ctx.byId(targetId);
    if (!target || !this.ctx.rooms.roomsOf(target).has(checked.value)) {
      conn.error(ErrorCode.notFound, `That person is not in #${checked.value}.`, { ref });
      return undefined;
    }
    return { room: checked.value, target };
  }

  private forbidden(conn: Connection, ref: string, message = 'You are not allowed to do that to this person here.'): void {
    conn.error(ErrorCode.forbidden, message, { ref });
  }

  private persistRoom(name: string): Promise<void> {
    const rooms = this.ctx.store.rooms.filter((r) => r.name !== name);
    const existing = this.ctx.store.rooms.find((r) => r.name === name);
    const history = this.ctx.rooms.historySettingsOf(name);
    rooms.push({
      name,
      topic: this.ctx.rooms.topicOf(name),
      moderators: this.ctx.rooms.moderatorsOf(name),
      createdAt: existing?.createdAt ?? Date.now(),
      newMembers: history?.newMembers,
      purgedAt: history?.purgedAt,
    });
    this.ctx.store.rooms = rooms;
    return this.ctx.store.saveRooms();
  }

  /** Who did what to whom, where and when; never what anyone said. */
  audit(actor: Pick<Connection, 'name' | 'key'>, action: string, target?: { name: string; key?: string }, room?: string, detail?: string): Promise<void> {
    const describe = (who: { name: string; key?: string }) => (who.key ? `${who.name} (${fingerprintOf(who.key).slice(0, 12)})` : who.name);
    return this.ctx.store
      .record({ at: Date.now(), actor: describe(actor), action, target: target ? describe(target) : undefined, room, detail })
      .catch((error: unknown) => console.error(`wisp: could not write the audit trail: ${(error as Error).message}`));
  }
}
