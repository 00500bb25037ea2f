import { expect } from '@esm-bundle/chai';
import { commandHints, parseInput } from '../../app/state/commands.ts';
import { Backoff } from '../../app/net/backoff.ts';
import { closeSentence } from '../../app/net/close-reasons.ts';
import { CloseCode } from '../../signal-server/protocol.ts';

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

  it('explains misuse and unknown commands', () => {
    expect(parseInput('/nick')).to.deep.include({ kind: 'invalid' });
    expect(parseInput('/join two words')).to.deep.include({ kind: 'invalid' });
    expect(parseInput('/me')).to.deep.include({ kind: 'invalid' });
    const unknown = parseInput('/frobnicate');
    expect(unknown).to.deep.include({ kind: 'invalid' });
    expect((unknown as { message: string }).message).to.contain('/help');
  });

  it('"//" escapes a line that starts with a slash', () => {
    expect(parseInput('//shrug')).to.deep.equal({ kind: 'say', text: '/shrug' });
  });

  it('hints match what was typed after the slash, until a space', () => {
    expect(commandHints('/').map((c) => c.name)).to.deep.equal(['help', 'nick', 'join', 'leave', 'me', 'w']);
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
  });
});
