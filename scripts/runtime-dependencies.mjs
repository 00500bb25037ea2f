// Which npm packages the compiled server loads at run time: every bare import specifier
// in dist/signal-server/**/*.js (static and dynamic imports, re-exports, require), mapped
// to its package and the version the root package.json pins. Read from the build rather
// than listed by hand, so a new server dependency reaches the release by itself and
// the app's packages (bundled by Vite) never do.
import { readFileSync, readdirSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import path from 'node:path';

/** `import … from 'x'`, `import 'x'`, `export … from 'x'`, `import('x')`, `require('x')`. */
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)(["'])([^"'\n]+)\1/g;

/**
 * The module specifiers a compiled file imports, relative ones included.
 * @param {string} code
 * @returns {string[]}
 */
export function importSpecifiers(code) {
  // Comments would yield false hits ("import it from 'x'" in prose).
  const withoutComments = code.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  return [...withoutComments.matchAll(SPECIFIER)].map((match) => /** @type {string} */ (match[2]));
}

/**
 * The package a bare specifier names (`@scope/name/sub` → `@scope/name`, `name/sub` →
 * `name`), or undefined for relative, absolute, URL and Node built-in specifiers.
 * @param {string} specifier
 * @returns {string | undefined}
 */
export function packageOf(specifier) {
  if (/^[./]/.test(specifier) || /^[a-z][a-z0-9+.-]*:/i.test(specifier) || isBuiltin(specifier)) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/**
 * Package names imported by the .js files under `dir`, sorted.
 * @param {string} dir
 * @returns {string[]}
 */
export function importedPackages(dir) {
  const names = new Set();
  for (const file of /** @type {string[]} */ (readdirSync(dir, { recursive: true, encoding: 'utf8' }))) {
    if (!file.endsWith('.js')) continue;
    for (const specifier of importSpecifiers(readFileSync(path.join(dir, file), 'utf8'))) {
      const name = packageOf(specifier);
      if (name) names.add(name);
    }
  }
  return [...names].sort();
}

/**
 * The packages the server imports, at the root package.json's versions, split as the root
 * lists them: `dependencies` (always installed) and `optionalDependencies` (ioredis, loaded
 * only in cluster mode: a Pi's `npm ci --omit=dev --omit=optional` leaves it out). Throws
 * for a package listed in neither: a server import of a devDependency, or of a package
 * installed only by chance, would fail on a Pi.
 * @param {string} serverDir
 * @param {{ dependencies?: Record<string, string>, optionalDependencies?: Record<string, string> }} rootPackage
 * @returns {{ dependencies: Record<string, string>, optionalDependencies: Record<string, string> }}
 */
export function runtimeDependencies(serverDir, rootPackage) {
  /** @type {Record<string, string>} */
  const dependencies = {};
  /** @type {Record<string, string>} */
  const optionalDependencies = {};
  const missing = [];
  for (const name of importedPackages(serverDir)) {
    const required = rootPackage.dependencies?.[name];
    const optional = rootPackage.optionalDependencies?.[name];
    if (required !== undefined) dependencies[name] = required;
    else if (optional !== undefined) optionalDependencies[name] = optional;
    else missing.push(name);
  }
  if (missing.length > 0) {
    throw new Error(`the server imports ${missing.join(', ')}, which package.json's "dependencies" and "optionalDependencies" do not list; add them there`);
  }
  return { dependencies, optionalDependencies };
}
