import { expect } from '@esm-bundle/chai';
import { COMMANDS, commandHints, parseDuration, parseInput } from '../../app/state/commands.ts';
import { Backoff } from '../../app/net/backoff.ts';
import { closeSentence, errorSentence } from '../../app/net/close-reasons.ts';
import { CloseCode, ErrorCode } from '../../signal-server/protocol/protocol.ts';

describe('composer commands', () => {
  it('plain text is a chat line; blank is nothing', () => {
    expect(parseInput('  hello  ')).to.deep.equal({ kind: 'say', text: 'hello' });
    expect(parseInput('   ')).to.equal(undefined);
  });

  it('parses each command and its aliases', () => {
    expect(parseInput('/help')).to.deep.equal({ kind: 'help' });
    expect(parseInput('/nick Ada')).to.deep.equal({ kind: 'nick', name: 'Ada' });
    expect(parseInput('/NAME Ada')).to.deep.equal({ kind: 'nick', name: 'Ada' });
    expect(parseInput('/join #music')).to.deep.equal({ kind: 'join', room: '#music' });
    expect(parseInput('/leave')).to.deep.equal({ kind: 'leave' });
    expect(parseInput('/part see you tomorrow')).to.deep.equal({ kind: 'leave', farewell: 'see you tomorrow' });
    expect(parseInput('/me waves')).to.deep.equal({ kind: 'me', text: 'waves' });
    expect(parseInput('/w bob hi  there ')).to.deep.equal({ kind: 'whisper', name: 'bob', text: 'hi  there' });
    expect(parseInput('/whisper @bob psst')).to.deep.equal({ kind: 'whisper', name: '@bob', text: 'psst' });
    expect(parseInput('/msg bob')).to.deep.include({ kind: 'invalid' });
  });

  it('/history takes a count or off', () => {
    expect(parseInput('/history 3')).to.deep.equal({ kind: 'room-history', newMembers: 3 });
    expect(parseInput('/history off')).to.deep.equal({ kind: 'room-history', newMembers: 0 });
    expect(parseInput('/history 0')).to.deep.equal({ kind: 'room-history', newMembers: 0 });
    expect(parseInput('/history')).to.deep.include({ kind: 'invalid' });
    expect(parseInput('/history lots')).to.deep.include({ kind: 'invalid' });
    expect(parseInput('/history -1')).to.deep.include({ kind: 'invalid' });
  });

  it('explains misuse and unknown commands', () => {
    expect(parseInput('/nick')).to.deep.include({ kind: 'invalid' });
    expect(parseInput('/join two words')).to.deep.include({ kind: 'invalid' });
    expect(parseInput('/me')).to.deep.include({ kind: 'invalid' });
    const unknown = parseInput('/frobnicate');
    expect(unknown).to.deep.include({ kind: 'invalid' });
    expect((unknown as { message: string }).message).to.contain('/help');
  });

  it('parses moderation commands', () => {
    expect(parseInput('/kick bob being rude')).to.deep.equal({ kind: 'kick', name: 'bob', reason: 'being rude' });
    expect(parseInput('/kick bob')).to.deep.equal({ kind: 'kick', name: 'bob', reason: undefined });
    expect(parseInput('/ban bob 2h spam')).to.deep.equal({ kind: 'ban', name: 'bob', durationMs: 7_200_000, reason: 'spam', server: false, byIp: false });
    expect(parseInput('/ban --server --ip bob flooding')).to.deep.equal({ kind: 'ban', name: 'bob', durationMs: undefined, reason: 'flooding', server: true, byIp: true });
    expect(parseInput('/op ann')).to.deep.equal({ kind: 'role', op: true, name: 'ann' });
    expect(parseInput('/deop ann')).to.deep.equal({ kind: 'role', op: false, name: 'ann' });
    expect(parseInput('/unban Ab3_x')).to.deep.equal({ kind: 'unban', id: 'Ab3_x' });
    expect(parseInput('/bans --server')).to.deep.equal({ kind: 'bans', server: true });
    expect(parseInput('/topic Friday: board games')).to.deep.equal({ kind: 'topic', topic: 'Friday: board games' });
    expect(parseInput('/topic')).to.deep.equal({ kind: 'topic', topic: '' });
    expect(parseInput('/createroom #club')).to.deep.equal({ kind: 'room-create', room: '#club' });
    expect(parseInput('/audit 20')).to.deep.equal({ kind: 'audit', limit: 20 });
    expect(parseInput('/audit lots')).to.deep.include({ kind: 'invalid' });
    expect(parseInput('/admin s3cret-token')).to.deep.equal({ kind: 'admin', token: 's3cret-token' });
    expect(parseInput('/admin forget')).to.deep.equal({ kind: 'admin-forget' });
    expect(parseInput('/admin Forget ')).to.deep.equal({ kind: 'admin-forget' });
    expect(parseDuration('10m')).to.equal(600_000);
    expect(parseDuration('7d')).to.equal(604_800_000);
    expect(parseDuration('soon')).to.equal(undefined);
  });

  it('"//" escapes a line that starts with a slash', () => {
    expect(parseInput('//shrug')).to.deep.equal({ kind: 'say', text: '/shrug' });
  });

  it('hints match what was typed after the slash, until a space', () => {
    expect(commandHints('/').map((c) => c.name)).to.deep.equal(COMMANDS.map((c) => c.name));
    expect(commandHints('/').length).to.be.greaterThan(15);
    expect(commandHints('/ms').map((c) => c.name)).to.deep.equal(['w']);
    expect(commandHints('/j').map((c) => c.name)).to.deep.equal(['join']);
    expect(commandHints('/na').map((c) => c.name)).to.deep.equal(['nick']);
    expect(commandHints('/join ')).to.deep.equal([]);
    expect(commandHints('hello')).to.deep.equal([]);
  });
});

describe('reconnect backoff', () => {
  it('doubles up to the ceiling, with jitter between half and full', () => {
    const low = new Backoff(500, 8000, () => 0);
    expect([1, 2, 3, 4, 5, 6].map(() => low.next())).to.deep.equal([250, 500, 1000, 2000, 4000, 4000]);
    const high = new Backoff(500, 8000, () => 1);
    expect([1, 2, 3].map(() => high.next())).to.deep.equal([500, 1000, 2000]);
    high.reset();
    expect(high.next()).to.equal(500);
  });
});

describe('close codes as sentences', () => {
  it('never shows a number, and each Wisp code has its own sentence', () => {
    const codes = Object.values(CloseCode);
    const sentences = codes.map(closeSentence);
    for (const sentence of sentences) expect(sentence).to.match(/^[A-Z][^0-9]+[.…]$/);
    const wispCodes = codes.filter((c) => c >= 4000);
    expect(new Set(wispCodes.map(closeSentence)).size).to.equal(wispCodes.length);
    // What ws closes with by itself says what happened, not just "lost".
    const lost = closeSentence(1006);
    for (const code of [CloseCode.framingError, CloseCode.invalidText, CloseCode.tooBig]) expect(closeSentence(code)).to.not.equal(lost);
  });
});

describe('error codes as sentences', () => {
  it('a frame refused because the receiver is slow reads as their slow connection, not a refusal', () => {
    const sentence = errorSentence(ErrorCode.receiverBusy, 'ignored');
    expect(sentence).to.match(/connection is slow/);
    expect(sentence).to.not.match(/refused|ignored/);
  });
});
