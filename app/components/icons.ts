import { svg } from 'lit';

/** A padlock, drawn so it shows on systems without an emoji font. */
export const lockIcon = svg`<svg viewBox="0 0 16 16" width="0.9em" height="0.9em" aria-hidden="true" style="vertical-align:-0.1em"><path fill="currentColor" d="M4 7V5a4 4 0 1 1 8 0v2h.5A1.5 1.5 0 0 1 14 8.5v5A1.5 1.5 0 0 1 12.5 15h-9A1.5 1.5 0 0 1 2 13.5v-5A1.5 1.5 0 0 1 3.5 7H4Zm2 0h4V5a2 2 0 1 0-4 0v2Z"/></svg>`;

/** A paper clip, for "send a file". */
export const clipIcon = svg`<svg viewBox="0 0 24 24" width="1.2em" height="1.2em" aria-hidden="true"><path fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" d="m21.4 11.6-8.5 8.5a5.5 5.5 0 0 1-7.8-7.8l8.5-8.5a3.7 3.7 0 0 1 5.2 5.2l-8.5 8.5a1.8 1.8 0 0 1-2.6-2.6l7.8-7.8"/></svg>`;

/** A person, for the People toggle on a phone. */
export const peopleIcon = svg`<svg viewBox="0 0 16 16" width="1em" height="1em" aria-hidden="true"><circle cx="8" cy="5" r="3" fill="currentColor"/><path fill="currentColor" d="M2 15c0-3 3-5 6-5s6 2 6 5z"/></svg>`;
