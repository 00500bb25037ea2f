// A "⋯" button's menu: where it opens, and where focus goes when it closes.

/** Right-aligned under the button (the menu keeps itself on screen). */
export function menuBelow(button: Element): { x: number; y: number } {
  const box = button.getBoundingClientRect();
  return { x: box.right - 192, y: box.bottom + 4 };
}

/** Gives focus back to the button after its menu closed, unless the person moved it elsewhere. */
export function refocusOpener(host: Element, button: HTMLElement | null): void {
  let active = document.activeElement;
  while (active?.shadowRoot?.activeElement) active = active.shadowRoot.activeElement;
  if (!active || active === document.body || active === host) button?.focus();
}
