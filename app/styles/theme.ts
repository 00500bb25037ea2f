// Puts the chosen theme on the document: page.css switches every colour token on
// <html data-theme>, and the browser's own bar (the theme-color metas) follows.
import type { Theme } from '../storage/settings.ts';

/** What is on the document now: the store calls this on every change, and most change something else. */
let applied: Theme | undefined;

export function applyTheme(theme: Theme): void {
  if (theme === applied) return;
  applied = theme;
  const root = document.documentElement;
  if (theme === 'system') delete root.dataset.theme;
  else root.dataset.theme = theme;
  // Each meta is for one scheme (index.html): with a chosen theme, its meta applies and the other never does.
  for (const meta of document.querySelectorAll<HTMLMetaElement>('meta[name=theme-color]')) {
    const scheme = meta.dataset.scheme;
    meta.media = theme === 'system' ? `(prefers-color-scheme: ${scheme})` : theme === scheme ? 'all' : 'not all';
  }
}
