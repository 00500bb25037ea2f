// What a name looks like: the keys under which two names that look alike are the same name.
//
// The confusables data is Unicode's confusables.txt (UTS #39, version 13.0.0) as the
// `unhomoglyph` package ships it: data.json maps each source character to its prototype,
// line for line. Only that file is used (the package's own function builds one regular
// expression of 6,311 alternatives; a Map lookup per character is cheaper on a Pi).
import { createRequire } from 'node:module';

// A plain require() call, so scripts/runtime-dependencies.mjs sees the package for the release.
const require = createRequire(import.meta.url);
let prototypes: Map<number, string> | undefined;

/** The prototype table, read on first use: about 6,300 entries. */
function table(): Map<number, string> {
  if (!prototypes) {
    const data = require('unhomoglyph/data.json') as Record<string, string>;
    prototypes = new Map();
    for (const [source, prototype] of Object.entries(data)) prototypes.set(source.codePointAt(0)!, prototype);
  }
  return prototypes;
}

/**
 * The UTS #39 skeleton: NFD, each character replaced by its prototype, NFD again. Fullwidth
 * and other compatibility forms ("Ｒｅｎéｅ", "ﬁ", "①") are not in confusables.txt, which
 * expects NFKC input, so NFKC comes first.
 */
export function skeleton(text: string): string {
  const map = table();
  let out = '';
  for (const char of text.normalize('NFKC').normalize('NFD')) out += map.get(char.codePointAt(0)!) ?? char;
  return out.normalize('NFD');
}

/**
 * Two keys per name; names that share either look alike. `exact` is the skeleton itself
 * ("Ian" and "lan", "Il" and "ll"). `folded` ignores case as names always have ("RЕNÉE"
 * and "renée"): lower case first, so "Ian" and "lan" stay apart there ("I" and "l" only
 * look alike in upper case), and again after, for letters without a case of their own
 * (mathematical "𝐑" becomes "R").
 */
export function lookAlikeKeys(name: string): { exact: string; folded: string } {
  return { exact: skeleton(name), folded: skeleton(name.toLowerCase()).toLowerCase() };
}
