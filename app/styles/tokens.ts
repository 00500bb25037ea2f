import { css } from 'lit';

/**
 * Design tokens and the few rules every component shares. The colours (--bg, --text,
 * --accent…) come from the document (app/styles/page.css), so a theme switches them all.
 * Comments stay out of the css`` text: they would ship in the first-load bundle.
 * Focus: an outline a little away from the control, clear on the accent-filled Send
 * button too, and kept in forced colours (a box-shadow is not).
 */
export const shared = css`
  :host {
    --radius: 10px;
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
    outline: 3px solid var(--focus-ring);
    outline-offset: 2px;
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

/** The modal dialogs (room picker, settings, verification, share). The backdrop's fallback: older engines do not let ::backdrop inherit custom properties. */
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
    background: var(--scrim, #0009);
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
