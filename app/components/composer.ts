import { LitElement, css, html, nothing } from 'lit';
import { customElement, property, query, state } from 'lit/decorators.js';
import { commandHints, type CommandInfo } from '../state/commands.ts';
import { shared } from '../styles/tokens.ts';
import { clipIcon } from './icons.ts';
import { emit } from './events.ts';

/**
 * Where the person types. Emits `send` with the text; hints slash commands as they type.
 * A line the app refused comes back as `refused` (the notice it raised) and fills the box again, unless something new was typed.
 */
@customElement('wisp-composer')
export class Composer extends LitElement {
  /** Where the text goes, e.g. "#lobby" or "@bob". */
  @property() target = '';
  @property({ type: Number }) maxLength = 2000;
  /** Whisper conversations take files: an attach button, and pasted images. */
  @property({ type: Boolean }) allowFiles = false;
  @property({ attribute: false }) refused?: { returned?: string };
  @state() private value = '';
  @state() private selected = 0;
  @query('textarea') private textarea!: HTMLTextAreaElement;

  static override styles = [
    shared,
    css`
      :host {
        display: block;
        position: relative;
        padding: 0.5rem max(0.75rem, env(safe-area-inset-right)) calc(0.5rem + env(safe-area-inset-bottom)) max(0.75rem, env(safe-area-inset-left));
        border-top: 1px solid var(--border);
        background: var(--surface);
      }
      form {
        display: flex;
        gap: 0.5rem;
        align-items: flex-end;
      }
      textarea {
        flex: 1;
        resize: none;
        font: inherit;
        color: var(--text);
        background: var(--bg);
        border: 1px solid var(--border);
        border-radius: var(--radius);
        padding: 0.6rem 0.7rem;
        min-height: 2.75rem;
        max-height: 9rem;
      }
      ul {
        position: absolute;
        bottom: 100%;
        left: 0.75rem;
        right: 0.75rem;
        margin: 0 0 0.25rem;
        padding: 0.25rem;
        list-style: none;
        background: var(--surface-2);
        border: 1px solid var(--border);
        border-radius: var(--radius);
      }
      li {
        padding: 0.35rem 0.5rem;
        border-radius: 6px;
        cursor: pointer;
      }
      li[aria-selected='true'] {
        background: var(--own);
      }
      code {
        font-family: var(--mono);
        color: var(--accent);
      }
      .attach {
        display: inline-flex;
        align-items: center;
        justify-content: center;
        min-width: 2.75rem;
        min-height: 2.75rem;
        padding: 0;
        font-size: 1.1rem;
      }
      .count {
        font-size: 0.75rem;
        color: var(--warn);
      }
    `,
  ];

  override willUpdate(changed: Map<string, unknown>): void {
    // Not on the first render: a composer made later (another conversation) was not the one refused.
    if (this.hasUpdated && changed.has('refused') && this.refused?.returned && !this.value) this.value = this.refused.returned;
  }

  private get hints(): CommandInfo[] {
    return commandHints(this.value);
  }

  /** Focuses the text box, once it is there (right after the composer was made, it is not yet). */
  override focus(): void {
    if (this.textarea) this.textarea.focus();
    else void this.updateComplete.then(() => this.textarea?.focus());
  }

  /** Puts text in the box (e.g. a command to complete) and focuses it. */
  async fill(text: string): Promise<void> {
    this.value = text;
    await this.updateComplete;
    this.textarea.focus();
    this.textarea.setSelectionRange(text.length, text.length);
  }

  private emitFiles(files: File[]): void {
    if (!files.length) return;
    emit(this, 'files', { files });
  }

  private onPaste(event: ClipboardEvent): void {
    if (!this.allowFiles) return;
    const files = [...(event.clipboardData?.files ?? [])];
    if (!files.length) return;
    event.preventDefault();
    this.emitFiles(files);
  }

  private send(): void {
    const text = this.value.trim();
    if (!text) return;
    emit(this, 'send', { text });
    this.value = '';
  }

  private complete(hint: CommandInfo): void {
    this.value = `/${hint.name} `;
    this.selected = 0;
    this.textarea.focus();
  }

  private onKeyDown(event: KeyboardEvent): void {
    const hints = this.hints;
    if (hints.length && (event.key === 'ArrowDown' || event.key === 'ArrowUp')) {
      event.preventDefault();
      const step = event.key === 'ArrowDown' ? 1 : -1;
      this.selected = (this.selected + step + hints.length) % hints.length;
      return;
    }
    if (hints.length && event.key === 'Tab' && !event.shiftKey) {
      event.preventDefault();
      this.complete(hints[Math.min(this.selected, hints.length - 1)]);
      return;
    }
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      this.send();
    }
  }

  override render() {
    const hints = this.hints;
    const length = [...this.value].length;
    return html`
      ${hints.length
        ? html`<ul id="hints" role="listbox" aria-label="Commands">
            ${hints.map(
              (hint, i) =>
                html`<li role="option" aria-selected=${i === this.selected ? 'true' : 'false'} @click=${() => this.complete(hint)}>
                  <code>${hint.usage}</code> ${hint.description}
                </li>`,
            )}
          </ul>`
        : nothing}
      <form @submit=${(e: Event) => (e.preventDefault(), this.send())}>
        <label class="visually-hidden" for="input">Message ${this.target}. Type / for commands.</label>
        <textarea
          id="input"
          rows="1"
          placeholder=${`Message ${this.target}`}
          .value=${this.value}
          maxlength=${this.maxLength}
          enterkeyhint="send"
          aria-describedby=${hints.length ? 'hints' : ''}
          @input=${(e: InputEvent) => ((this.value = (e.target as HTMLTextAreaElement).value), (this.selected = 0))}
          @keydown=${this.onKeyDown}
          @paste=${this.onPaste}
        ></textarea>
        ${this.allowFiles
          ? // A real button opens the file input (a label may not be a button); the input is out of the tab order and hidden from screen readers.
            html`<input
                id="file"
                type="file"
                multiple
                tabindex="-1"
                aria-hidden="true"
                class="visually-hidden"
                @change=${(e: Event) => {
                  const input = e.target as HTMLInputElement;
                  this.emitFiles([...(input.files ?? [])]);
                  input.value = '';
                }}
              /><button type="button" class="attach" title="Send a file" aria-label="Send a file" @click=${() => this.renderRoot.querySelector<HTMLInputElement>('#file')?.click()}>
                ${clipIcon}
              </button>`
          : nothing}
        <button class="primary" type="submit" aria-label="Send">Send</button>
      </form>
      ${length > this.maxLength * 0.9 ? html`<div class="count" aria-live="polite">${length} / ${this.maxLength}</div>` : nothing}
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'wisp-composer': Composer;
  }
}
