import { LitElement, css, html } from 'lit';
import { customElement, property, query } from 'lit/decorators.js';
import { DEFAULT_SETTINGS, THEMES, WHISPER_EXPIRY_CHOICES, type HistoryRetention, type Settings, type Theme } from '../storage/settings.ts';
import { dialogStyles, shared } from '../styles/tokens.ts';
import { emit } from './events.ts';

const THEME_LABELS: Record<Theme, string> = { system: 'System', light: 'Light', dark: 'Dark' };

const HISTORY_CHOICES: [HistoryRetention, string][] = [
  ['off', 'Off'],
  ['1d', '1 day'],
  ['7d', '7 days'],
  ['30d', '30 days'],
  ['always', 'Always'],
];

/** Per-device settings: theme, notifications, whisper links and who to whisper with, links, files, history. Emits `settings-change`. */
@customElement('wisp-settings-dialog')
export class SettingsDialog extends LitElement {
  @property({ attribute: false }) settings: Settings = DEFAULT_SETTINGS;
  /** The server's file limit in MiB, the most this person can choose. */
  @property({ type: Number }) serverMaxFileMb = 50;
  @property() fingerprint = '';
  @query('dialog') private dialog!: HTMLDialogElement;

  static override styles = [
    shared,
    dialogStyles,
    css`
      label {
        display: flex;
        gap: 0.6rem;
        align-items: flex-start;
        margin: 0.75rem 0;
        line-height: 1.4;
      }
      input {
        width: 1.2rem;
        height: 1.2rem;
        margin-top: 0.1rem;
        accent-color: var(--accent);
      }
      small {
        color: var(--muted);
        display: block;
      }
      code {
        font-family: var(--mono);
        font-size: 0.8rem;
        overflow-wrap: anywhere;
      }
      .actions {
        display: flex;
        gap: 0.5rem;
        justify-content: flex-end;
      }
      fieldset {
        border: 0;
        margin: 0.75rem 0;
        padding: 0;
        display: flex;
        flex-wrap: wrap;
        gap: 0.25rem 1.25rem;
        align-items: center;
      }
      legend {
        float: left;
        margin-right: 0.5rem;
      }
      fieldset label {
        margin: 0;
        align-items: center;
      }
      fieldset input {
        margin-top: 0;
      }
    `,
  ];

  show(): void {
    this.dialog.showModal();
  }

  private change(patch: Partial<Settings>): void {
    emit(this, 'settings-change', { settings: { ...this.settings, ...patch } });
  }

  override render() {
    return html`<dialog aria-labelledby="title">
      <h2 id="title">Settings</h2>
      <fieldset>
        <legend>Theme</legend>
        ${THEMES.map(
          (theme) =>
            html`<label
              ><input
                type="radio"
                name="theme"
                value=${theme}
                .checked=${this.settings.theme === theme}
                @change=${() => this.change({ theme })}
              />${THEME_LABELS[theme]}</label
            >`,
        )}
      </fieldset>
      <label>
        <input
          type="checkbox"
          name="notifications"
          .checked=${this.settings.notifications}
          @change=${(e: Event) => this.change({ notifications: (e.target as HTMLInputElement).checked })}
        />
        <span>Notify me of whispers and @mentions while Wisp is in the background<small>The browser asks for permission the first time.</small></span>
      </label>
      <label>
        <input
          type="checkbox"
          name="relay-only"
          .checked=${this.settings.relayOnly}
          @change=${(e: Event) => this.change({ relayOnly: (e.target as HTMLInputElement).checked })}
        />
        <span
          >Never connect whispers directly<small
            >Hides your network address from the people you whisper with. Whispers go through the server's TURN relay or
            the server itself, still end-to-end encrypted. Applies to new whisper links.</small
          ></span
        >
      </label>
      <label>
        <input
          type="checkbox"
          name="verified-only"
          .checked=${this.settings.verifiedOnly}
          @change=${(e: Event) => this.change({ verifiedOnly: (e.target as HTMLInputElement).checked })}
        />
        <span
          >Whisper only with verified people<small
            >Until you compare safety numbers with someone, whoever runs the server could pose as them. With this on,
            nothing is sent to someone you have not verified, and what they send waits unseen until you verify
            them.</small
          ></span
        >
      </label>
      <label>
        <input
          type="checkbox"
          name="show-links"
          .checked=${this.settings.showLinks}
          @change=${(e: Event) => this.change({ showLinks: (e.target as HTMLInputElement).checked })}
        />
        <span>Show links in messages<small>Off: web addresses show as plain text, so nothing is one tap away.</small></span>
      </label>
      <label>
        <input
          type="number"
          name="max-file-mb"
          min="1"
          max=${this.serverMaxFileMb}
          style="width: 5rem; height: auto"
          .value=${String(this.settings.maxFileMb || this.serverMaxFileMb)}
          @change=${(e: Event) => {
            const value = Math.round(Number((e.target as HTMLInputElement).value));
            if (value >= 1) this.change({ maxFileMb: value >= this.serverMaxFileMb ? 0 : value });
          }}
        />
        <span>Largest file I accept, in MB<small>This server allows up to ${this.serverMaxFileMb} MB. Bigger offers are refused before anything is sent.</small></span>
      </label>
      <label>
        <select
          name="history"
          @change=${(e: Event) => this.change({ history: (e.target as HTMLSelectElement).value as HistoryRetention })}
        >
          ${HISTORY_CHOICES.map(([value, label]) => html`<option value=${value} ?selected=${this.settings.history === value}>${label}</option>`)}
        </select>
        <span
          >Keep history on this device<small
            >Room lines and whisper conversations come back after a reload, encrypted on this device. Off keeps nothing
            and deletes what was kept; older lines are deleted.</small
          ></span
        >
      </label>
      <label>
        <select
          name="whisper-expiry"
          @change=${(e: Event) => this.change({ whisperExpiryMs: Number((e.target as HTMLSelectElement).value) })}
        >
          ${WHISPER_EXPIRY_CHOICES.map((c) => html`<option value=${String(c.ms)} ?selected=${c.ms === this.settings.whisperExpiryMs}>${c.label}</option>`)}
        </select>
        <span
          >Undelivered whispers expire after<small
            >A whisper to someone who is offline waits on this device and goes out when you are both online. After this
            long it shows "Not delivered", with Retry.</small
          ></span
        >
      </label>
      <p><small>Your identity key fingerprint</small><code>${this.fingerprint}</code></p>
      <div class="actions">
        <button
          @click=${() => {
            this.dialog.close();
            emit(this, 'show-help');
          }}
        >
          Commands
        </button>
        <button @click=${() => this.dialog.close()}>Done</button>
      </div>
    </dialog>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'wisp-settings-dialog': SettingsDialog;
  }
}
