import { LitElement, css, html, nothing } from 'lit';
import { customElement, property, query, state } from 'lit/decorators.js';
import type { Session } from '../state/session.ts';
import { StoreController } from '../state/store-controller.ts';
import { shared } from '../styles/tokens.ts';
import { shortFingerprint } from '../crypto/identity.ts';
import type { RoomPicker } from './room-picker.ts';
import type { Composer } from './composer.ts';
import type { VerifyDialog } from './verify-dialog.ts';
import type { SettingsDialog } from './settings-dialog.ts';
import type { InviteDialog } from './invite-dialog.ts';
import { whisperKeyOf, whisperTab, type AppState } from '../state/store.ts';
import { RANK, mayActOn, nameKey, rankOf, type Member } from '../../signal-server/protocol/protocol.ts';
import type { MenuItem } from './member-menu.ts';
import { on } from './events.ts';
import { peopleIcon } from './icons.ts';
import type { RenameDialog } from './rename-dialog.ts';
import { trustLevel, trustOf, type Trust } from '../storage/pins.ts';
import { fingerprintFromHex } from '../crypto/key-fingerprint.ts';
import { historyChoices } from '../state/history-setting.ts';
import { afterPaint } from '../after-paint.ts';
import './composer.ts';
import './connection-status.ts';
import './member-list.ts';
import './message-list.ts';
import './room-tabs.ts';
import './room-header.ts';
import './whisper-header.ts';

const UPDATE = { id: 0, text: 'A new version of Wisp is available.' };

/** The shell: lays out the presentational components and turns their events into Session commands. */
@customElement('wisp-app')
export class WispApp extends LitElement {
  @property({ attribute: false }) session!: Session;
  @state() private membersOpen = false;
  /** The person closed the update offer without reloading. */
  @state() private updateClosed = false;
  /** The member whose action menu is open, and where. */
  @state() private menu?: { member: Member; room: string; x: number; y: number };
  /** The contact whose safety number the verify dialog shows. */
  @state() private verifying?: { key: string; name: string; number: string };
  /** The room the invite dialog is for. */
  @state() private inviting?: string;
  /** The rename dialog is open: why the last name was refused, and whether the server is deciding. */
  @state() private renaming?: { error: string; busy: boolean };
  @query('wisp-room-picker') private picker!: RoomPicker;
  @query('wisp-verify-dialog') private verifyDialog!: VerifyDialog;
  @query('wisp-settings-dialog') private settingsDialog!: SettingsDialog;
  @query('wisp-invite-dialog') private inviteDialog!: InviteDialog;
  @query('wisp-rename-dialog') private renameDialog!: RenameDialog;
  @query('wisp-composer') private composer?: Composer;
  private store?: StoreController;
  /** A whisper just opened from the member list: its composer takes focus once it shows. */
  private whisperOpening?: string;

  // The connection status keeps its word and its Retry whole (only its sentence gives way); on a narrow
  // phone the brand gives its room to the name.
  static override styles = [
    shared,
    css`
      :host {
        display: grid;
        grid-template-rows: auto auto 1fr;
        height: 100dvh;
        background: var(--bg);
      }
      header {
        display: flex;
        align-items: center;
        gap: 0.5rem;
        padding: 0.2rem max(0.75rem, env(safe-area-inset-right)) 0.2rem max(0.75rem, env(safe-area-inset-left));
        padding-top: calc(0.2rem + env(safe-area-inset-top));
        background: var(--surface);
        border-bottom: 1px solid var(--border);
        min-width: 0;
      }
      header button {
        flex: none;
        min-height: 2rem;
        padding: 0.1rem 0.55rem;
        white-space: nowrap;
      }
      h1 {
        font-size: 1.1rem;
        margin: 0;
        letter-spacing: 0.02em;
        flex: none;
      }
      wisp-connection-status {
        flex: 1 1 auto;
        min-width: min-content;
      }
      .me {
        display: flex;
        align-items: center;
        gap: 0.35rem;
        min-width: 0;
        flex: 0 1 auto;
        font-size: 0.875rem;
        color: var(--muted);
        white-space: nowrap;
      }
      header .me .rename {
        flex: 0 1 auto;
        min-width: 2.5rem;
        max-width: 100%;
        overflow: hidden;
        text-overflow: ellipsis;
        background: transparent;
        border-color: transparent;
        font-size: inherit;
      }
      .me strong {
        color: var(--text);
      }
      .fp {
        flex: none;
      }
      main {
        display: grid;
        grid-template-columns: 1fr 15rem;
        min-height: 0;
      }
      .chat {
        display: flex;
        flex-direction: column;
        min-height: 0;
        min-width: 0;
      }
      .chat wisp-message-list {
        flex: 1;
        min-height: 0;
      }
      .muted {
        color: var(--muted);
        font-weight: 400;
      }
      aside {
        border-left: 1px solid var(--border);
        background: var(--surface);
        overflow-y: auto;
      }
      .members-toggle {
        display: none;
      }
      .empty {
        padding: 2rem;
        text-align: center;
        color: var(--muted);
      }
      .close,
      .scrim {
        display: none;
      }
      @media (max-width: 720px) {
        main {
          grid-template-columns: 1fr;
        }
        aside {
          display: none;
          position: fixed;
          inset: 0 0 0 auto;
          width: min(18rem, 85vw);
          z-index: 4;
          box-shadow: -8px 0 24px var(--shadow);
        }
        aside.open,
        .close,
        .scrim {
          display: block;
        }
        .close {
          margin: 0.5rem 0.5rem 0 auto;
        }
        .scrim {
          position: fixed;
          inset: 0;
          z-index: 3;
          background: var(--scrim);
        }
        .members-toggle {
          display: inline-flex;
          align-items: center;
          gap: 0.3rem;
        }
        .me .fp {
          display: none;
        }
        header {
          gap: 0.35rem;
        }
      }
      @media (max-width: 420px) {
        h1 {
          position: absolute;
          width: 1px;
          height: 1px;
          overflow: hidden;
          clip: rect(0 0 0 0);
        }
      }
    `,
  ];

  override connectedCallback(): void {
    super.connectedCallback();
    this.store ??= new StoreController(this, this.session.store);
  }

  /**
   * Opens or closes the People drawer (phone layout): focus goes into it, and back to its toggle.
   * While it is open a dimmed layer (.scrim) covers the conversation beside it; a tap there closes it.
   */
  private async showMembers(open: boolean): Promise<void> {
    this.membersOpen = open;
    await this.updateComplete;
    this.renderRoot.querySelector<HTMLElement>(open ? 'aside .close' : '.members-toggle')?.focus();
  }

  private onKeyDown = (event: KeyboardEvent) => {
    if (event.key === 'Escape' && this.membersOpen) {
      void this.showMembers(false);
      return;
    }
    // Alt+1..9 jumps to a room tab; Alt+J opens the room picker.
    if (!event.altKey) return;
    const order = this.session.state.order;
    if (/^[1-9]$/.test(event.key) && order[Number(event.key) - 1]) {
      event.preventDefault();
      this.session.activate(order[Number(event.key) - 1]);
    } else if (event.key.toLowerCase() === 'j') {
      event.preventDefault();
      this.showPicker();
    }
  };

  /** The dialogs' module: loaded after the shell has painted, or at once when one is opened first. */
  private dialogs?: Promise<unknown>;

  private loadDialogs(): Promise<unknown> {
    return (this.dialogs ??= import('./dialogs.ts'));
  }

  /** The room picker is one of the dialogs: it opens once their module is here. */
  private showPicker(): void {
    void this.loadDialogs().then(() => this.picker.show());
  }

  override firstUpdated(): void {
    afterPaint(() => void this.loadDialogs());
    // On the window: Escape closes the People drawer wherever focus is.
    window.addEventListener('keydown', this.onKeyDown);
    this.composer?.focus();
  }

  override updated(): void {
    if (!this.whisperOpening || this.whisperOpening !== this.session.state.active || !this.composer) return;
    this.whisperOpening = undefined;
    this.composer.focus();
  }

  /** Opens a whisper with this person; its composer takes focus, so the person can type at once. */
  private openWhisper(key: string): void {
    this.membersOpen = false;
    this.whisperOpening = whisperTab(key);
    this.session.openWhisper(key);
  }

  /** Trust of every identity on screen: room members and whisper contacts. */
  private trustMap(state: AppState): Record<string, Trust> {
    const trust: Record<string, Trust> = {};
    for (const room of Object.values(state.rooms)) {
      for (const member of Object.values(room.members)) trust[member.key] = trustOf(state.pins, member.name, member.key);
    }
    for (const whisper of Object.values(state.whispers)) trust[whisper.key] = trustOf(state.pins, whisper.name, whisper.key);
    return trust;
  }

  /** The actions I may take on this member in this room, and nothing else. */
  private menuItems(state: AppState, member: Member, room: string): MenuItem[] {
    const mine = state.rooms[room]?.members[state.me.id ?? ''];
    const myRank = rankOf(mine?.role ?? 'member', state.me.admin);
    const theirRank = rankOf(member.role, member.admin);
    const level = trustLevel(trustOf(state.pins, member.name, member.key));
    const note = { verified: ' ✓ verified', unverified: ' (not verified yet)', changed: ' (safety number changed)', mismatch: ' (safety number does not match)' }[level];
    const items: MenuItem[] = [{ action: 'whisper', label: `Whisper with ${member.name}${note}` }];
    if (mayActOn(myRank, theirRank, RANK.owner) && member.role !== 'owner') {
      items.push(member.role === 'moderator' ? { action: 'deop', label: 'Remove moderator' } : { action: 'op', label: 'Make moderator' });
    }
    if (mayActOn(myRank, theirRank, RANK.moderator)) {
      items.push({ action: 'kick', label: `Kick from #${room}…` }, { action: 'ban', label: `Ban from #${room}…` });
    }
    if (state.me.admin && !member.admin) items.push({ action: 'server-ban', label: 'Ban from the server…' }, { action: 'userinfo', label: 'User info' });
    return items;
  }

  private chooseMenu(action: string): void {
    const menu = this.menu;
    this.menu = undefined;
    if (!menu) return;
    const { member } = menu;
    // Kicks and bans go through the composer, so a reason (and a duration) can be added.
    const prefill: Record<string, string> = { kick: `/kick ${member.name} `, ban: `/ban ${member.name} `, 'server-ban': `/ban --server ${member.name} ` };
    if (prefill[action]) {
      this.membersOpen = false;
      void this.composer?.fill(prefill[action]);
      return;
    }
    if (action === 'whisper') return this.openWhisper(member.key);
    this.session.memberAction(action as 'op' | 'deop' | 'userinfo', member);
  }

  /** Everyone else in my rooms, once each, by name. */
  private people(state: AppState) {
    const seen = new Map<string, { id: string; name: string; key: string }>();
    for (const room of Object.values(state.rooms)) {
      for (const m of Object.values(room.members)) if (m.id !== state.me.id) seen.set(m.key, m);
    }
    return [...seen.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  private async verify(key: string): Promise<void> {
    const whisper = this.session.state.whispers[key];
    if (!whisper) return;
    this.verifying = { key, name: whisper.name, number: '' };
    await Promise.all([this.updateComplete, this.loadDialogs()]);
    this.verifyDialog.show();
    const number = await this.session.safetyNumber(key);
    if (this.verifying?.key === key) this.verifying = { ...this.verifying, number };
  }

  private renderConversation(state: AppState, trust: Record<string, Trust>) {
    const whisperKey = whisperKeyOf(state.active);
    const whisper = whisperKey ? state.whispers[whisperKey] : undefined;
    if (whisper) {
      return html`<wisp-whisper-header
          .whisper=${whisper}
          trust=${trust[whisper.key] ?? 'new'}
          ?byInvite=${Boolean(state.pins[nameKey(whisper.name)]?.fingerprint)}
          ?verifiedOnly=${state.settings.verifiedOnly}
          ${on('verify', () => this.verify(whisper.key))}
          ${on('accept-change', () => this.session.acceptKeyChange(whisper.key))}
          ${on('reconnect', () => this.session.reconnectWhisper(whisper.key))}
          ${on('clear-conversation', (e) => this.session.clearConversation(e.detail.tab))}
        ></wisp-whisper-header>
        <wisp-message-list
          .lines=${whisper.lines}
          .anchor=${whisper.anchor}
          .unseenFrom=${whisper.unseenFrom}
          ?earlier=${whisper.earlier && state.settings.history !== 'off'}
          ${on('view-change', (e) => this.session.viewChanged(e.detail.room, e.detail))}
          ${on('load-earlier', (e) => this.session.loadEarlier(e.detail.room))}
          room=${whisperTab(whisper.key)}
          label=${`Whispers with ${whisper.name}`}
          ownFingerprint=${state.me.fingerprint ? fingerprintFromHex(state.me.fingerprint) : ''}
          peer=${whisper.name}
          .trust=${trust}
          .transfers=${state.transfers}
          .showLinks=${state.settings.showLinks}
          ${on('file-accept', (e) => this.session.acceptFile(e.detail.id))}
          ${on('file-decline', (e) => this.session.declineFile(e.detail.id))}
          ${on('file-cancel', (e) => this.session.cancelFile(e.detail.id))}
          ${on('whisper-retry', (e) => this.session.retryWhisper(e.detail.id))}
          @dragover=${(e: DragEvent) => e.dataTransfer?.types.includes('Files') && e.preventDefault()}
          @drop=${(e: DragEvent) => {
            if (!e.dataTransfer?.files.length) return;
            e.preventDefault();
            this.session.sendFiles(whisper.key, [...e.dataTransfer.files]);
          }}
        ></wisp-message-list>
        <wisp-composer
          target=${`@${whisper.name}`}
          allowFiles
          .maxLength=${state.limits?.messageMaxLength ?? 2000}
          .refused=${state.notice}
          ${on('send', (e) => this.session.submit(e.detail.text))}
          ${on('files', (e) => this.session.sendFiles(whisper.key, e.detail.files))}
        ></wisp-composer>`;
    }
    const room = state.active ? state.rooms[state.active] : undefined;
    if (room) {
      const mine = room.members[state.me.id ?? ''];
      return html`<wisp-room-header
          .room=${room}
          stopped=${state.connection.banned ? 'banned' : state.connection.status === 'stopped' ? 'stopped' : ''}
          ?owner=${rankOf(mine?.role ?? 'member', state.me.admin) >= RANK.owner}
          ?moderator=${rankOf(mine?.role ?? 'member', state.me.admin) >= RANK.moderator}
          .historyChoices=${rankOf(mine?.role ?? 'member', state.me.admin) >= (room.persistent ? RANK.admin : RANK.owner) ? historyChoices(state.limits?.historyMessages ?? 0) : []}
          ${on('room-history', (e) => this.session.setRoomHistory(e.detail.room, e.detail.newMembers))}
          ${on('invite', () => this.invite(room.name))}
          ${on('change-passphrase', () => this.session.askNewPassphrase(room.name))}
          ${on('forget-room', () => this.session.forgetRoom(room.name))}
          ${on('unlock-room', () => this.session.unlockRoom(room.name))}
          ${on('clear-conversation', (e) => this.session.clearConversation(e.detail.tab))}
          ${on('set-topic', (e) => this.setTopic(e.detail.topic))}
          ${on('leave-room', (e) => this.session.leave(e.detail.room))}
        ></wisp-room-header>
        <wisp-message-list
          .lines=${room.lines}
          room=${room.name}
          ownFingerprint=${state.me.fingerprint ? fingerprintFromHex(state.me.fingerprint) : ''}
          .trust=${trust}
          .showLinks=${state.settings.showLinks}
          .anchor=${room.anchor}
          .unseenFrom=${room.unseenFrom}
          ?earlier=${room.earlier && state.settings.history !== 'off'}
          ${on('view-change', (e) => this.session.viewChanged(e.detail.room, e.detail))}
          ${on('load-earlier', (e) => this.session.loadEarlier(e.detail.room))}
        ></wisp-message-list>
        <wisp-composer
          target=${`#${room.name}`}
          .maxLength=${state.limits?.messageMaxLength ?? 2000}
          .refused=${state.notice}
          ${on('send', (e) => this.session.submit(e.detail.text))}
        ></wisp-composer>`;
    }
    return html`<div class="empty">
      <p>You are not in any room.</p>
      <button class="primary" @click=${() => this.showPicker()}>Join a room</button>
    </div>`;
  }

  private async showRename(): Promise<void> {
    this.renaming = { error: '', busy: false };
    await Promise.all([this.updateComplete, this.loadDialogs()]);
    this.renameDialog.show();
  }

  private async rename(name: string): Promise<void> {
    this.renaming = { error: '', busy: true };
    const refusal = await this.session.renameFromDialog(name);
    if (!this.renaming) return;
    if (refusal) this.renaming = { error: refusal, busy: false };
    else this.renameDialog.close();
  }

  /** The rename dialog closed (renamed, Cancel or Escape): focus goes back to the name. */
  private async renameClosed(): Promise<void> {
    this.renaming = undefined;
    await this.updateComplete;
    this.renderRoot.querySelector<HTMLElement>('header .rename')?.focus();
  }

  /** "Set topic…" puts /topic and the current topic in the composer, to edit and send. */
  private setTopic(topic: string): void {
    void this.composer?.fill(`/topic ${topic}`);
  }

  private async invite(room: string): Promise<void> {
    this.inviting = room;
    await Promise.all([this.updateComplete, this.loadDialogs()]);
    this.inviteDialog.show();
  }

  override render() {
    const state = this.session.state;
    // In a whisper, the side panel keeps showing the people of the first room.
    const roomName = state.active && state.rooms[state.active] ? state.active : state.order.find((tab) => state.rooms[tab]);
    const room = roomName ? state.rooms[roomName] : undefined;
    const members = room ? Object.values(room.members) : [];
    const trust = this.trustMap(state);
    const tabs = state.order.map((id) => {
      const key = whisperKeyOf(id);
      const whisper = key ? state.whispers[key] : undefined;
      return whisper ? { id, label: whisper.name, unread: whisper.unread, whisper: true } : { id, label: id, unread: state.rooms[id]?.unread ?? 0 };
    });
    return html`
      <header>
        <h1>Wisp</h1>
        <wisp-connection-status .connection=${state.connection} ${on('reconnect', () => this.session.reconnect())}></wisp-connection-status>
        <span class="me">
          <button class="rename" aria-haspopup="dialog" aria-label=${`${state.me.name ?? ''}, change your name`} title="Change your name" @click=${() => this.showRename()}>
            <strong>${state.me.name ?? '…'}</strong>
          </button>
          ${state.me.fingerprint ? html`<span class="fp" title="Your identity key fingerprint">· ${shortFingerprint(state.me.fingerprint)}</span>` : nothing}
        </span>
        <button class="members-toggle" title="People" aria-expanded=${this.membersOpen ? 'true' : 'false'} aria-controls="members" @click=${() => this.showMembers(!this.membersOpen)}>
          ${peopleIcon}<span class="visually-hidden">People${room?.synced ? ' (' : ''}</span>${room?.synced ? html`${members.length}<span class="visually-hidden">)</span>` : nothing}
        </button>
        <button class="settings" aria-label="Settings" title="Settings" @click=${() => void this.loadDialogs().then(() => this.settingsDialog.show())}>⚙</button>
      </header>
      <wisp-room-tabs
        role="navigation"
        aria-label="Conversations"
        .tabs=${tabs}
        .active=${state.active}
        ${on('room-select', (e) => this.session.activate(e.detail.room))}
        ${on('room-add', () => this.showPicker())}
        ${on('tab-close', (e) => this.session.closeTab(e.detail.tab))}
      ></wisp-room-tabs>
      <main>
        <section class="chat" aria-label=${state.active ? (whisperKeyOf(state.active) ? 'Whisper' : `#${state.active}`) : 'No room'}>
          ${this.renderConversation(state, trust)}
        </section>
        ${this.membersOpen ? html`<div class="scrim" @click=${() => this.showMembers(false)}></div>` : nothing}
        <aside id="members" class=${this.membersOpen ? 'open' : ''} aria-label=${room ? `People in #${room.name}` : 'People'}>
          <button class="close" aria-label="Close people" @click=${() => this.showMembers(false)}>✕</button>
          <wisp-member-list
            .members=${members}
            room=${room && whisperKeyOf(state.active ?? '') ? room.name : ''}
            .synced=${room?.synced ?? false}
            .trust=${trust}
            me=${state.me.id ?? ''}
            ${on('member-select', (e) => this.openWhisper(e.detail.key))}
            ${on('member-menu', (e) => room && (this.menu = { ...e.detail, room: room.name }))}
          ></wisp-member-list>
        </aside>
        ${this.menu
          ? html`<wisp-member-menu
              .items=${this.menuItems(state, this.menu.member, this.menu.room)}
              label=${`Actions for ${this.menu.member.name}`}
              .x=${this.menu.x}
              .y=${this.menu.y}
              ${on('menu-choose', (e) => this.chooseMenu(e.detail.action))}
              ${on('menu-close', () => (this.menu = undefined))}
            ></wisp-member-menu>`
          : nothing}
      </main>
      <wisp-room-picker
        .directory=${state.directory}
        .joined=${state.order}
        ${on('refresh', () => this.session.requestDirectory())}
        ${on('join-room', (e) => this.session.join(e.detail.room, e.detail.passphrase))}
      ></wisp-room-picker>
      <wisp-passphrase-dialog
        .prompt=${state.passphrasePrompt}
        ${on('passphrase-submit', (e) => this.session.submitPassphrase(e.detail.room, e.detail.mode, e.detail.passphrase))}
        ${on('passphrase-cancel', (e) => this.session.cancelPassphrase(e.detail.room, e.detail.mode))}
      ></wisp-passphrase-dialog>
      <wisp-invite-dialog
        room=${this.inviting ?? ''}
        origin=${location.origin}
        ?private=${Boolean(this.inviting && state.rooms[this.inviting]?.private)}
        passphrase=${(this.inviting && this.session.knownPassphrase(this.inviting)) || ''}
        .inviterName=${state.me.name ?? ''}
        .inviterFingerprint=${state.me.fingerprint ? fingerprintFromHex(state.me.fingerprint) : ''}
      ></wisp-invite-dialog>
      <wisp-rename-dialog
        name=${state.me.name ?? ''}
        error=${this.renaming?.error ?? ''}
        ?busy=${this.renaming?.busy ?? false}
        ${on('rename', (e) => this.rename(e.detail.name))}
        ${on('rename-close', () => this.renameClosed())}
      ></wisp-rename-dialog>
      <wisp-verify-dialog
        name=${this.verifying?.name ?? ''}
        number=${this.verifying?.number ?? ''}
        ?verified=${this.verifying ? trust[this.verifying.key] === 'verified' : false}
        ${on('mark-verified', () => this.verifying && this.session.markVerified(this.verifying.key))}
        ${on('verify-mismatch', () => this.verifying && this.session.reportMismatch(this.verifying.key))}
      ></wisp-verify-dialog>
      <wisp-settings-dialog
        .settings=${state.settings}
        .serverMaxFileMb=${Math.floor((state.limits?.maxFileBytes ?? 50 * 1024 * 1024) / (1024 * 1024))}
        fingerprint=${state.me.fingerprint ?? ''}
        ${on('settings-change', (e) => this.session.updateSettings(e.detail.settings))}
        ${on('show-help', () => this.session.showHelp(true))}
      ></wisp-settings-dialog>
      <wisp-help-panel
        ?open=${state.help}
        .rank=${rankOf(state.rooms[state.active ?? '']?.members[state.me.id ?? '']?.role ?? 'member', state.me.admin)}
        ${on('help-close', () => (this.session.showHelp(false), this.composer?.focus()))}
      ></wisp-help-panel>
      <wisp-password-dialog
        ?open=${Boolean(state.passwordPrompt)}
        error=${state.passwordPrompt?.error ?? ''}
        ${on('password', (e) => this.session.sendPassword(e.detail.password))}
      ></wisp-password-dialog>
      <wisp-share-dialog
        .share=${state.share}
        .people=${this.people(state)}
        .trust=${trust}
        ?online=${state.connection.status === 'online'}
        ${on('share-to', (e) => this.session.shareTo(e.detail.key))}
        ${on('share-cancel', () => this.session.dismissShare())}
      ></wisp-share-dialog>
      ${state.updateReady && !this.updateClosed
        ? html`<wisp-notice .notice=${UPDATE} action="Reload" ${on('notice-action', () => this.session.update())} ${on('notice-dismiss', () => (this.updateClosed = true))}></wisp-notice>`
        : nothing}
      <wisp-notice .notice=${state.notice} ${on('notice-dismiss', () => this.session.dismissNotice())}></wisp-notice>
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'wisp-app': WispApp;
  }
}
