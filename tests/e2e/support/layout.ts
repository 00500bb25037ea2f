// Measuring the chrome above the messages (top bar, tabs, room or whisper header) in the real
// page: what is clipped, what wraps, and how tall it is. Page scripts are strings (see DEEP_ELEMENTS).
import type { Page } from 'playwright-core';

export interface BarReport {
  bar: string;
  /** Elements whose content is cut off without an ellipsis and a way to read it whole. */
  clipped: string[];
  /** Elements whose own text runs on more than one line. */
  wrapped: string[];
  /** Elements that stick out of the window sideways. */
  offscreen: string[];
  /** Visible items that do not share one horizontal line with the others. */
  offLine: string[];
  /** The bar's height minus its tallest item and its own padding and border (0: one line). */
  extraHeight: number;
  height: number;
}

export interface ChromeReport {
  bars: BarReport[];
  /** From the top of the window to the top of the message list. */
  chrome: number;
  /** How much wider than the window the page is. */
  pageOverflow: number;
}

const MEASURE = `(() => {
  const app = document.querySelector('wisp-app').shadowRoot;
  const describe = (el) => el.localName + (el.id ? '#' + el.id : '') + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '') + ' "' + (el.textContent || '').replace(/\\s+/g, ' ').trim().slice(0, 40) + '"';
  const hidden = (el) => {
    const style = getComputedStyle(el);
    return style.display === 'none' || style.visibility === 'hidden' || style.clip !== 'auto' || el.getClientRects().length === 0;
  };
  // Every rendered element of a bar, through shadow roots, leaving out what is visually hidden (and inside it).
  const walk = (root, out) => {
    for (const el of root.children) {
      if (hidden(el)) continue;
      out.push(el);
      if (el.shadowRoot) walk(el.shadowRoot, out);
      walk(el, out);
    }
    return out;
  };
  // Cut on purpose: an ellipsis, with the whole text in a title or a label here or on an ancestor.
  const readableWhole = (el) => {
    const text = (el.textContent || '').replace(/\\s+/g, ' ').trim();
    for (let node = el; node; node = node.parentElement || (node.getRootNode() && node.getRootNode().host)) {
      if (node.nodeType !== 1) break;
      const label = (node.getAttribute('title') || '') + ' ' + (node.getAttribute('aria-label') || '');
      if (text && label.includes(text)) return true;
    }
    return false;
  };
  // Part of the element lies outside an ancestor (up to the bar) that hides its overflow.
  const cutByAncestor = (el, rect, bar) => {
    for (let node = el.parentElement || el.getRootNode().host; node; node = node.parentElement || (node.getRootNode() && node.getRootNode().host)) {
      const cs = getComputedStyle(node);
      // An ancestor that ends in an ellipsis, with the whole text in its title or label, shortens on purpose.
      if ((cs.overflowX !== 'visible' || cs.overflowY !== 'visible') && !(cs.textOverflow === 'ellipsis' && readableWhole(node))) {
        const box = node.getBoundingClientRect();
        if (rect.left < box.left - 0.5 || rect.right > box.right + 0.5 || rect.top < box.top - 0.5 || rect.bottom > box.bottom + 0.5) return true;
      }
      if (node === bar) break;
    }
    return false;
  };
  // What of the element is not hidden by ancestors that clip their overflow.
  const visiblePart = (el, rect) => {
    let { left, right } = rect;
    for (let node = el.parentElement || el.getRootNode().host; node && node !== document.documentElement; node = node.parentElement || (node.getRootNode() && node.getRootNode().host)) {
      const cs = getComputedStyle(node);
      if (cs.overflowX === 'visible') continue;
      const box = node.getBoundingClientRect();
      left = Math.max(left, box.left);
      right = Math.min(right, box.right);
    }
    return right > left ? { left, right } : undefined;
  };
  const lines = (el) => {
    const tops = new Set();
    for (const child of el.childNodes) {
      if (child.nodeType !== 3 || !child.textContent.trim()) continue;
      const range = document.createRange();
      range.selectNodeContents(child);
      for (const rect of range.getClientRects()) if (rect.width > 0) tops.add(Math.round(rect.top));
    }
    return tops.size;
  };
  const measure = (name, bar) => {
    const box = bar.getBoundingClientRect();
    const style = getComputedStyle(bar);
    const els = walk(bar.shadowRoot || bar, []);
    const clipped = [], wrapped = [], offscreen = [], offLine = [];
    let tallest = 0;
    // The tab strip scrolls sideways on purpose (with hints): its tabs are checked against it, not the window.
    const inStrip = (el) => { for (let n = el.parentElement; n; n = n.parentElement) if (n.classList.contains('strip')) return true; return false; };
    const items = [];
    for (const el of els) {
      const cs = getComputedStyle(el);
      const rect = el.getBoundingClientRect();
      if (rect.width === 0 || rect.height === 0) continue;
      const scrolls = cs.overflowX === 'auto' || cs.overflowX === 'scroll';
      const ellipsis = cs.textOverflow === 'ellipsis' && readableWhole(el);
      const item = el.localName === 'button' || [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim()) || el.localName === 'svg';
      if (!item) continue;
      items.push([el, rect]);
      if (!scrolls && !ellipsis && (el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1) && el.clientWidth > 0) clipped.push(describe(el));
      else if (!inStrip(el) && cutByAncestor(el, rect, bar)) clipped.push(describe(el) + ' (by an ancestor)');
      if (lines(el) > 1) wrapped.push(describe(el));
      const shown = visiblePart(el, rect);
      if (!inStrip(el) && shown && (shown.left < -0.5 || shown.right > innerWidth + 0.5)) offscreen.push(describe(el));
    }
    for (const [, rect] of items) tallest = Math.max(tallest, rect.height);
    // One line: no item starts below where another ends.
    const minBottom = Math.min(...items.map(([, r]) => r.bottom));
    for (const [el, r] of items) if (r.top >= minBottom) offLine.push(describe(el));
    const chrome = parseFloat(style.paddingTop) + parseFloat(style.paddingBottom) + parseFloat(style.borderTopWidth) + parseFloat(style.borderBottomWidth);
    return { bar: name, clipped, wrapped, offscreen, offLine, extraHeight: Math.round(box.height - tallest - chrome), height: box.height };
  };
  const bars = [['top bar', app.querySelector('header')], ['tabs', app.querySelector('wisp-room-tabs')]];
  const roomHeader = app.querySelector('wisp-room-header');
  if (roomHeader) bars.push(['room header', roomHeader.shadowRoot.querySelector('.line')]);
  const whisperHeader = app.querySelector('wisp-whisper-header');
  if (whisperHeader) bars.push(['whisper header', whisperHeader.shadowRoot.querySelector('.line')]);
  const list = app.querySelector('wisp-message-list');
  return {
    bars: bars.map(([name, el]) => measure(name, el)),
    chrome: list.getBoundingClientRect().top,
    pageOverflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
  };
})()`;

/** How wide the name button in the top bar is, and how wide the first four characters of the name are. */
export function nameRoom(page: Page): Promise<{ button: number; fourChars: number }> {
  return page.evaluate(`(() => {
    const button = document.querySelector('wisp-app').shadowRoot.querySelector('header .me .rename');
    const range = document.createRange();
    const node = [...button.querySelector('strong').childNodes].find((n) => n.nodeType === 3 && n.textContent.trim());
    range.setStart(node, 0);
    range.setEnd(node, Math.min(4, node.textContent.length));
    return { button: button.getBoundingClientRect().width, fourChars: range.getBoundingClientRect().width };
  })()`) as Promise<{ button: number; fourChars: number }>;
}

/** In the member list (side panel or drawer): squashed dots, and badges or "(you)" cut off or wrapped. */
export function memberProblems(page: Page): Promise<string[]> {
  return page.evaluate(`(() => {
    const list = document.querySelector('wisp-app').shadowRoot.querySelector('wisp-member-list').shadowRoot;
    const problems = [];
    const lines = (el) => {
      const range = document.createRange();
      range.selectNodeContents(el);
      return new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top))).size;
    };
    for (const li of list.querySelectorAll('li[data-id]')) {
      const dot = li.querySelector('.dot').getBoundingClientRect();
      if (Math.abs(dot.width - dot.height) > 0.5) problems.push('a squashed dot: ' + dot.width + 'x' + dot.height);
      for (const badge of li.querySelectorAll('.you, .role, .badge')) {
        if (lines(badge) > 1) problems.push('"' + badge.textContent + '" wraps');
        if (badge.scrollWidth > badge.clientWidth + 1) problems.push('"' + badge.textContent + '" is cut off');
      }
      const name = li.querySelector('.name');
      if (lines(name) > 1) problems.push('the name "' + name.textContent + '" wraps');
      if (name.scrollWidth > name.clientWidth + 1 && getComputedStyle(name).textOverflow !== 'ellipsis') problems.push('the name "' + name.textContent + '" is cut off without an ellipsis');
    }
    return problems;
  })()`) as Promise<string[]>;
}

export function measureChrome(page: Page): Promise<ChromeReport> {
  return page.evaluate(MEASURE) as Promise<ChromeReport>;
}

/** Where the active tab, the strip it scrolls in, and "+" are, and which overflow hints show. */
export function tabGeometry(page: Page): Promise<{ active: DOMRectJSON; strip: DOMRectJSON; add: DOMRectJSON; hints: string[]; width: number }> {
  return page.evaluate(`(() => {
    const tabs = document.querySelector('wisp-app').shadowRoot.querySelector('wisp-room-tabs').shadowRoot;
    const box = (el) => { const r = el.getBoundingClientRect(); return { left: r.left, right: r.right, top: r.top, bottom: r.bottom }; };
    return {
      active: box(tabs.querySelector('[role=tab][aria-selected=true]').parentElement),
      strip: box(tabs.querySelector('.strip')),
      add: box(tabs.querySelector('button.add')),
      hints: tabs.querySelector('.strip').dataset.more.split(' ').filter(Boolean),
      width: innerWidth,
    };
  })()`) as never;
}

interface DOMRectJSON {
  left: number;
  right: number;
  top: number;
  bottom: number;
}
