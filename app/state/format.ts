// Light message formatting, parsed into tokens (never HTML): ```code blocks```,
// `inline code`, **bold**, *italic* or _italic_, and links. Only http, https and mailto
// become links; anything else stays text.
export type Token =
  | { t: 'text'; text: string }
  | { t: 'code'; text: string }
  | { t: 'codeblock'; text: string }
  | { t: 'bold'; children: Token[] }
  | { t: 'italic'; children: Token[] }
  | { t: 'link'; href: string; text: string };

const SAFE_SCHEMES = new Set(['http:', 'https:', 'mailto:']);
// A URL ends before white space or a closing quote/bracket; trailing punctuation is not part of it.
const LINK = /\b(?:https?:\/\/|mailto:)[^\s<>"'`]+/gi;
const TRAILING = /[.,;:!?)\]}]+$/;

/** The URL if it is safe to link to, else undefined. */
export function safeHref(candidate: string): string | undefined {
  try {
    const url = new URL(candidate);
    if (!SAFE_SCHEMES.has(url.protocol)) return undefined;
    if (url.protocol !== 'mailto:' && !url.hostname) return undefined;
    return url.href;
  } catch {
    return undefined;
  }
}

function pushText(out: Token[], text: string): void {
  if (!text) return;
  const last = out[out.length - 1];
  if (last?.t === 'text') last.text += text;
  else out.push({ t: 'text', text });
}

function links(text: string, out: Token[]): void {
  let at = 0;
  for (const match of text.matchAll(LINK)) {
    const raw = match[0].replace(TRAILING, '');
    const href = safeHref(raw);
    if (!href) continue;
    pushText(out, text.slice(at, match.index));
    out.push({ t: 'link', href, text: raw });
    at = match.index! + raw.length;
  }
  pushText(out, text.slice(at));
}

/** Emphasis inside a stretch without code: **bold** first, then *italic* / _italic_. */
function emphasis(text: string, depth = 0): Token[] {
  const out: Token[] = [];
  if (depth > 3) {
    links(text, out);
    return out;
  }
  const pattern = /\*\*(?=\S)([\s\S]*?\S)\*\*|(?<![\w*])\*(?=\S)([^*]*?\S)\*(?![\w*])|(?<![\w_])_(?=\S)([^_]*?\S)_(?![\w_])/g;
  let at = 0;
  for (const match of text.matchAll(pattern)) {
    links(text.slice(at, match.index), out);
    if (match[1] !== undefined) out.push({ t: 'bold', children: emphasis(match[1], depth + 1) });
    else out.push({ t: 'italic', children: emphasis(match[2] ?? match[3], depth + 1) });
    at = match.index! + match[0].length;
  }
  links(text.slice(at), out);
  return out;
}

export function parseMessage(text: string): Token[] {
  const out: Token[] = [];
  // Code first: nothing inside code is formatted.
  const code = /```(?:[a-z0-9+-]*\n)?([\s\S]*?)```|`([^`\n]+)`/gi;
  let at = 0;
  for (const match of text.matchAll(code)) {
    for (const token of emphasis(text.slice(at, match.index))) out.push(token);
    out.push(match[1] !== undefined ? { t: 'codeblock', text: match[1].replace(/\n$/, '') } : { t: 'code', text: match[2] });
    at = match.index! + match[0].length;
  }
  for (const token of emphasis(text.slice(at))) out.push(token);
  // Merge text tokens split by the passes above.
  const merged: Token[] = [];
  for (const token of out) {
    if (token.t === 'text') pushText(merged, token.text);
    else merged.push(token);
  }
  return merged;
}
