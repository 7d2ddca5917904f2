import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/** The design document lives in the repository, the README links it, and the code cites it there. */
const root = path.resolve(__dirname, '../..');
const DESIGN = 'docs/design.md';
const design = readFileSync(path.join(root, DESIGN), 'utf8');
const readme = readFileSync(path.join(root, 'README.md'), 'utf8');

function filesUnder(dir: string): string[] {
  const full = path.join(root, dir);
  if (!existsSync(full)) return [];
  if (statSync(full).isFile()) return [dir];
  return readdirSync(full).flatMap((entry) => filesUnder(path.join(dir, entry)));
}

describe(DESIGN, () => {
  it('is linked from the README', () => {
    expect(readme).toMatch(/\]\(docs\/design\.md(#[a-z0-9-]+)?\)/);
  });

  it('names only repository paths that exist', () => {
    const paths = new Set([...design.matchAll(/`((?:config|src|jobs|test|docs|\.ci)\/[A-Za-z0-9_./-]+)`/g)].map((m) => m[1]!));
    expect(paths.size).toBeGreaterThan(10);
    for (const file of paths) expect(existsSync(path.join(root, file)) ? file : `missing ${file}`).toBe(file);
  });

  it('describes every protocol step and the invariants', () => {
    for (const step of ['**Look**', '**Mint**', '**Stage**', '**Verify**', '**Promote**', '**Retire**']) expect(design).toContain(step);
    expect(design).toContain('## 3. Invariants');
    expect(design).toContain('## 4. Where the truth lives');
  });

  it.each(['README.md', 'src', 'jobs', 'test', 'config', 'bench', '.ci', 'Dockerfile', 'docker-compose.yml'])(
    'is what %s cites, not a DESIGN.md outside the repository',
    (where) => {
      const citing = filesUnder(where)
        .filter((file) => /\.(ts|md|ya?ml|json|sh)$|Dockerfile|run$/.test(file) && file !== 'test/docs/design.test.ts')
        .filter((file) => readFileSync(path.join(root, file), 'utf8').includes('DESIGN.md'));
      expect(citing).toEqual([]);
    },
  );
});
