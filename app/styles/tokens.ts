import { css } from 'lit';

/** Design tokens and the few rules every component shares. */
export const shared = css`
  :host {
    --bg: #10151f;
    --surface: #171e2c;
    --surface-2: #1f2839;
    --border: #2c3850;
    --text: #e8edf6;
    --muted: #9aa7bd;
    --accent: #7dd3fc;
    --accent-ink: #06202e;
    --own: #23365a;
    --danger: #fca5a5;
    --ok: #86efac;
    --warn: #fcd34d;
    --radius: 10px;
    --focus: 0 0 0 3px #7dd3fcaa;
    --font: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif;
    --mono: ui-monospace, 'SFMono-Regular', Menlo, Consolas, monospace;
    font-family: var(--font);
    color: var(--text);
    box-sizing: border-box;
  }
  *,
  *::before,
  *::after {
    box-sizing: inherit;
  }
  button {
    font: inherit;
    color: inherit;
    background: var(--surface-2);
    border: 1px solid var(--border);
    border-radius: 8px;
    padding: 0.45rem 0.8rem;
    cursor: pointer;
    min-height: 2.5rem;
  }
  button:hover {
    border-color: var(--accent);
  }
  button.primary {
    background: var(--accent);
    color: var(--accent-ink);
    border-color: var(--accent);
    font-weight: 600;
  }
  :focus-visible {
    outline: none;
    box-shadow: var(--focus);
  }
  /* An accent ring would merge with an accent fill */
  button.primary:focus-visible {
    box-shadow: none;
    outline: 2px solid var(--accent);
    outline-offset: 2px;
  }
  .badge.verified {
    color: var(--ok);
    font-weight: 700;
  }
  .badge.changed {
    color: var(--warn);
  }
  .badge.unverified {
    color: var(--muted);
    font-size: 0.72rem;
    white-space: nowrap;
  }
  .visually-hidden {
    position: absolute;
    width: 1px;
    height: 1px;
    padding: 0;
    margin: -1px;
    overflow: hidden;
    clip: rect(0 0 0 0);
    white-space: nowrap;
    border: 0;
  }
`;

/** The modal dialogs (room picker, settings, verification, share). */
export const dialogStyles = css`
  dialog {
    background: var(--surface);
    color: var(--text);
    border: 1px solid var(--border);
    border-radius: var(--radius);
    width: min(28rem, 94vw);
    padding: 1rem;
  }
  dialog::backdrop {
    background: #0009;
  }
  h2 {
    margin: 0 0 0.75rem;
    font-size: 1.1rem;
  }
  /* A one-line form: a text field and its button. */
  form {
    display: flex;
    gap: 0.5rem;
  }
  .actions {
    display: flex;
    gap: 0.5rem;
    justify-content: flex-end;
    margin-top: 0.75rem;
  }
  .error {
    color: var(--danger);
  }
  p {
    color: var(--muted);
    line-height: 1.45;
  }
  /* A form of several labelled fields, one under another. */
  form.stacked {
    flex-direction: column;
  }
  form input {
    flex: 1;
    font: inherit;
    color: var(--text);
    background: var(--bg);
    border: 1px solid var(--border);
    border-radius: 8px;
    padding: 0.5rem;
  }
`;
