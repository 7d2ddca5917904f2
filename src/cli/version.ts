import { readFileSync } from 'node:fs';
import path from 'node:path';

const PACKAGE_NAME = 'sendmux-key-rotator';

/**
 * The package version, found by walking up from this file: the same code runs from `src/cli`
 * (tests) and from `dist/src/cli` (the built binary), at different depths.
 */
export function readPackageVersion(startDir: string = __dirname): string {
  let dir = startDir;
  for (;;) {
    try {
      const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (manifest.name === PACKAGE_NAME && typeof manifest.version === 'string') return manifest.version;
    } catch {
      // no (readable) package.json here; keep walking up
    }
    const parent = path.dirname(dir);
    if (parent === dir) return '0.0.0-unknown';
    dir = parent;
  }
}
