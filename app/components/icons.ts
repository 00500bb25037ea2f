import { svg } from 'lit';

/** A padlock, drawn so it shows on systems without an emoji font. */
export const lockIcon = svg`<svg viewBox="0 0 16 16" width="0.9em" height="0.9em" aria-hidden="true" style="vertical-align:-0.1em"><path fill="currentColor" d="M4 7V5a4 4 0 1 1 8 0v2h.5A1.5 1.5 0 0 1 14 8.5v5A1.5 1.5 0 0 1 12.5 15h-9A1.5 1.5 0 0 1 2 13.5v-5A1.5 1.5 0 0 1 3.5 7H4Zm2 0h4V5a2 2 0 1 0-4 0v2Z"/></svg>`;
