// Files another app shared to Wisp (the installed app is a share target). The service
// worker stores them here; the app picks them up and asks whom to send them to.
import { KEYS, read, remove } from './db.ts';

export interface Shared {
  files: File[];
  text?: string;
}

export async function takeShared(): Promise<Shared | undefined> {
  const saved = await read<{ files?: unknown[]; text?: unknown }>(KEYS.shared);
  await remove(KEYS.shared);
  const files = (saved?.files ?? []).filter((f): f is File => f instanceof File);
  const text = typeof saved?.text === 'string' && saved.text.trim() ? saved.text.trim() : undefined;
  return files.length || text ? { files, text } : undefined;
}
