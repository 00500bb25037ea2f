// The room header's "⋯" menu, as a person uses it: open it and pick an action by its label.
import type { Person } from './browser.ts';

/** Opens the active room's menu and picks the item whose label contains `label`. */
export async function roomAction(p: Person, label: string): Promise<void> {
  await p.page.locator('wisp-room-header button.more').click();
  await p.page.locator('wisp-room-header wisp-member-menu [role=menuitem]', { hasText: label }).click();
}
