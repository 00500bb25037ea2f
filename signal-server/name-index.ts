// Who holds which name: names are unique by how they look (UTS #39 skeleton, any case),
// so "Rеnée" (Cyrillic е), "Ｒｅｎéｅ" and "RENÉE" all belong to whoever is "Renée".
import { nameKey } from './protocol/protocol.ts';
import { lookAlikeKeys } from './name-skeleton.ts';

/** Why a wanted name is not free: someone has it (in another case), or a name that looks like it. */
export type NameClash<T> = { holder: T; kind: 'taken' | 'look-alike' };

type Entry<T> = { holder: T; name: string };

export class NameIndex<T> {
  /** Two keys per held name ("=" exact skeleton, "~" case-folded skeleton): 2 entries per person. */
  private readonly byKey = new Map<string, Entry<T>>();

  private static keys(name: string): [string, string] {
    const { exact, folded } = lookAlikeKeys(name);
    return [`=${exact}`, `~${folded}`];
  }

  /** Who already holds `name` or a look-alike of it, if anyone. */
  clash(name: string): NameClash<T> | undefined {
    for (const key of NameIndex.keys(name)) {
      const entry = this.byKey.get(key);
      if (entry) return { holder: entry.holder, kind: nameKey(entry.name) === nameKey(name) ? 'taken' : 'look-alike' };
    }
    return undefined;
  }

  /** Records that `holder` is `name`; the caller checked `clash` first. */
  add(name: string, holder: T): void {
    for (const key of NameIndex.keys(name)) this.byKey.set(key, { holder, name });
  }

  /** Forgets `name` if `holder` is the one holding it. */
  remove(name: string, holder: T): void {
    for (const key of NameIndex.keys(name)) if (this.byKey.get(key)?.holder === holder) this.byKey.delete(key);
  }
}
