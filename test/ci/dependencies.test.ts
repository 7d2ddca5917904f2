import { readFileSync } from 'node:fs';
import path from 'node:path';

/** What the lockfile installs, checked where a second copy or a wrong range would slip in unnoticed. */
const root = path.resolve(__dirname, '../..');
const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { version?: string; engines?: { node?: string } }>;
};

function installedCopies(name: string): string[] {
  return Object.keys(lock.packages).filter((location) => location === `node_modules/${name}` || location.endsWith(`/node_modules/${name}`));
}

describe('installed dependencies', () => {
  it.each(['@bull-board/api', '@bull-board/ui'])('installs one copy of %s (one dashboard bundle, one set of types)', (name) => {
    expect(installedCopies(name)).toEqual([`node_modules/${name}`]);
  });

  it('records the engines range of package.json in the lockfile', () => {
    expect(lock.packages['']?.engines?.node).toBe('>=24');
  });
});
