// The theme setting (the Settings control, its storage and the boot's copy, what it does
// to the document) and /help (which commands each rank is shown, and the panel).
import { expect } from '@esm-bundle/chai';
import '../../app/components/settings-dialog.ts';
import '../../app/components/help-panel.ts';
import { DEFAULT_SETTINGS, THEME_STORAGE_KEY, loadSettings, saveSettings } from '../../app/storage/settings.ts';
import { KEYS, remove, write } from '../../app/storage/db.ts';
import { applyTheme } from '../../app/styles/theme.ts';
import { COMMANDS, COMMAND_GROUPS, helpGroups, parseInput } from '../../app/state/commands.ts';
import { RANK } from '../../signal-server/protocol/protocol.ts';
import { mount } from './support/mount.ts';

function nextEvent<T = unknown>(target: EventTarget, type: string): Promise<CustomEvent<T>> {
  return new Promise((resolve) => target.addEventListener(type, (e) => resolve(e as CustomEvent<T>), { once: true }));
}

afterEach(() => {
  document.body.replaceChildren();
});

describe('theme setting', () => {
  after(async () => {
    await remove(KEYS.settings);
    localStorage.removeItem(THEME_STORAGE_KEY);
    applyTheme('system');
  });

  it('Settings offers System, Light and Dark, shows the current one, and sends the chosen one with the other settings unchanged', async () => {
    const settings = { ...DEFAULT_SETTINGS, verifiedOnly: true, theme: 'light' as const };
    const dialog = await mount('wisp-settings-dialog', { settings });
    const group = dialog.shadowRoot!.querySelector('fieldset')!;
    expect(group.querySelector('legend')!.textContent!.trim()).to.equal('Theme');
    const radios = [...group.querySelectorAll<HTMLInputElement>('input[type=radio][name=theme]')];
    expect(radios.map((r) => r.closest('label')!.textContent!.trim())).to.deep.equal(['System', 'Light', 'Dark']);
    expect(radios.filter((r) => r.checked).map((r) => r.value)).to.deep.equal(['light']);
    expect(DEFAULT_SETTINGS.theme).to.equal('system');
    const changed = nextEvent<{ settings: typeof DEFAULT_SETTINGS }>(dialog, 'settings-change');
    radios[2]!.click();
    expect((await changed).detail.settings).to.deep.equal({ ...settings, theme: 'dark' });
  });

  it('is kept with the other settings and mirrored for the boot script; anything else reads as System', async () => {
    await saveSettings({ ...DEFAULT_SETTINGS, theme: 'dark' });
    expect(localStorage.getItem(THEME_STORAGE_KEY)).to.equal('dark');
    expect((await loadSettings()).theme).to.equal('dark');

    // The record wins: loading puts the mirror back in step when it went missing.
    localStorage.removeItem(THEME_STORAGE_KEY);
    expect((await loadSettings()).theme).to.equal('dark');
    expect(localStorage.getItem(THEME_STORAGE_KEY)).to.equal('dark');

    await write(KEYS.settings, { ...DEFAULT_SETTINGS, theme: 'purple' });
    expect((await loadSettings()).theme).to.equal('system');
  });

  it('the boot script (/theme.js, before the first paint) reads the mirror: a chosen theme goes on <html>, anything else leaves it to the system', async () => {
    const run = async () => {
      delete document.documentElement.dataset.theme;
      const script = document.createElement('script');
      script.src = `/theme.js?${Math.random()}`;
      const loaded = new Promise((resolve, reject) => {
        script.addEventListener('load', resolve);
        script.addEventListener('error', reject);
      });
      document.head.append(script);
      await loaded;
      script.remove();
      return document.documentElement.dataset.theme;
    };
    localStorage.setItem(THEME_STORAGE_KEY, 'dark');
    expect(await run()).to.equal('dark');
    localStorage.setItem(THEME_STORAGE_KEY, 'light');
    expect(await run()).to.equal('light');
    for (const other of ['system', 'purple']) {
      localStorage.setItem(THEME_STORAGE_KEY, other);
      expect(await run()).to.equal(undefined);
    }
    delete document.documentElement.dataset.theme;
  });

  it('puts a chosen theme on <html> and points the theme-color metas at it; System gives both back to the system', () => {
    const metas = (['dark', 'light'] as const).map((scheme) => {
      const meta = document.createElement('meta');
      meta.name = 'theme-color';
      meta.dataset.scheme = scheme;
      meta.media = `(prefers-color-scheme: ${scheme})`;
      document.head.append(meta);
      return meta;
    });
    try {
      applyTheme('light');
      expect(document.documentElement.dataset.theme).to.equal('light');
      expect(metas.map((m) => m.media)).to.deep.equal(['not all', 'all']);
      applyTheme('dark');
      expect(document.documentElement.dataset.theme).to.equal('dark');
      expect(metas.map((m) => m.media)).to.deep.equal(['all', 'not all']);
      applyTheme('system');
      expect(document.documentElement.dataset.theme).to.equal(undefined);
      expect(metas.map((m) => m.media)).to.deep.equal(['(prefers-color-scheme: dark)', '(prefers-color-scheme: light)']);
    } finally {
      for (const meta of metas) meta.remove();
    }
  });
});

describe('/help: the commands each rank is shown', () => {
  const usages = (rank: number) => helpGroups(rank).flatMap((g) => g.commands.map((c) => c.usage));
  const groups = (rank: number) => helpGroups(rank).map((g) => g.group);

  it('every command has a group and a rank the server knows', () => {
    const ranks = Object.values(RANK) as number[];
    for (const command of COMMANDS) {
      expect(COMMAND_GROUPS, command.usage).to.include(command.group);
      expect(ranks, command.usage).to.include(command.minRank);
    }
    // Everything is shown to someone: the admin sees every command.
    expect(usages(RANK.admin)).to.have.length(COMMANDS.length);
  });

  it('a member sees chat, rooms and whispers: no moderation and no admin', () => {
    expect(groups(RANK.member)).to.deep.equal(['Chat', 'Rooms', 'Whispers']);
    const seen = usages(RANK.member);
    expect(seen).to.include.members(['/help', '/nick <name>', '/me <action>', '/join #room', '/leave [farewell]', '/w <name> <message>']);
    expect(seen.filter((u) => /^\/(ban|bans|unban|kick|op|deop|topic|history|purge|admin|userinfo|shutdown)\b/.test(u))).to.deep.equal([]);
  });

  it('a moderator sees kicks and bans in the room, not what only the owner may do', () => {
    expect(groups(RANK.moderator)).to.deep.equal(['Chat', 'Rooms', 'Whispers', 'Moderation']);
    const seen = usages(RANK.moderator);
    expect(seen).to.include.members(['/kick <name> [reason]', '/topic [text]', '/bans', '/unban <ban id>']);
    expect(seen).to.not.include.members(['/op <name>', '/purge']);
  });

  it("an owner sees the room's moderation; the server admin also sees the server's commands", () => {
    expect(groups(RANK.owner)).to.deep.equal(['Chat', 'Rooms', 'Whispers', 'Moderation']);
    expect(usages(RANK.owner)).to.include.members(['/op <name>', '/deop <name>', '/purge', '/history <count|off>']);
    expect(usages(RANK.owner).filter((u) => u.includes('--server'))).to.deep.equal([]);
    expect(groups(RANK.admin)).to.deep.equal(['Chat', 'Rooms', 'Whispers', 'Moderation', 'Server admin']);
    const server = helpGroups(RANK.admin).find((g) => g.group === 'Server admin')!.commands.map((c) => c.usage);
    expect(server.some((u) => u.startsWith('/ban --server'))).to.equal(true);
    expect(server).to.include.members(['/bans --server', '/userinfo <name>', '/shutdown']);
  });

  it('a command listed twice (its admin form for /help) still parses by its first entry', () => {
    expect(parseInput('/ban bob 2h spam')).to.deep.equal({ kind: 'ban', name: 'bob', durationMs: 7_200_000, reason: 'spam', server: false, byIp: false });
    expect(parseInput('/ban --server bob')).to.deep.include({ kind: 'ban', name: 'bob', server: true });
    expect(parseInput('/bans --server')).to.deep.equal({ kind: 'bans', server: true });
    expect(parseInput('/ban')).to.deep.equal({ kind: 'invalid', message: 'Usage: /ban [--ip] <name> [10m|2h|7d] [reason]' });
  });
});

describe('<wisp-help-panel>', () => {
  it("lists the rank's groups with each usage and description, as text, and says when it closes", async () => {
    const panel = await mount('wisp-help-panel', { rank: RANK.member, open: true });
    const root = panel.shadowRoot!;
    const dialog = root.querySelector('dialog')!;
    expect(dialog.open).to.equal(true);
    expect([...root.querySelectorAll('section h3')].map((h) => h.textContent!.trim())).to.deep.equal(['Chat', 'Rooms', 'Whispers']);
    const whisper = [...root.querySelectorAll('dt')].find((dt) => dt.textContent!.trim() === '/w <name> <message>')!;
    expect(whisper, 'the usage is text, not markup').to.exist;
    expect(whisper.nextElementSibling!.textContent!.replace(/\s+/g, ' ').trim()).to.equal('Whisper: a private, end-to-end encrypted message. Also /whisper, /msg.');
    expect(root.textContent).to.not.include('/kick');

    panel.rank = RANK.owner;
    await panel.updateComplete;
    expect([...root.querySelectorAll('section h3')].map((h) => h.textContent!.trim())).to.include('Moderation');

    const closed = nextEvent(panel, 'help-close');
    [...root.querySelectorAll('button')].find((b) => b.textContent!.trim() === 'Close')!.click();
    expect((await closed).detail).to.equal(null);
    expect(dialog.open).to.equal(false);
  });
});
