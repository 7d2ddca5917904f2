import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * A fresh clone, with nothing beside it, tests green: nothing the suite, the scripts or the build
 * reads lies outside the repository. Checked on the source: every path built from `__dirname`
 * stays inside the repository, no file names an absolute path under the directory the clone sits
 * in (where a sibling checkout would be), and no npm script reaches `../`.
 */
const root = path.resolve(__dirname, '../..');
const parent = path.dirname(root);
const SCANNED = ['test', 'src', 'jobs', 'bench', 'scripts', '.ci', 'jest.config.js', 'jest.unit.config.js', 'Dockerfile', 'docker-compose.yml'];

function filesUnder(entry: string): string[] {
  const full = path.join(root, entry);
  let stat;
  try {
    stat = statSync(full);
  } catch {
    return [];
  }
  if (stat.isFile()) return [entry];
  return readdirSync(full).filter((name) => name !== 'node_modules' && name !== 'results').flatMap((name) => filesUnder(path.join(entry, name)));
}

const sources = SCANNED.flatMap(filesUnder).filter((file) => /\.(ts|js|sh|ya?ml)$|Dockerfile$|\/run$/.test(file));

/**
 * Where each `path.resolve|join(__dirname, '<literal>', …)` call in `source` points. Code under
 * src/, jobs/ and bench/ also runs compiled, from dist/<same path>, so there the call may be
 * written for either place; it points outside only when it does from both.
 */
function dirnamePaths(file: string, source: string): string[] {
  const calls = source.matchAll(/path\.(?:resolve|join)\(\s*__dirname\s*((?:,\s*'[^']*'\s*)+)\)/g);
  const compiled = /^(src|jobs|bench)\//.test(file);
  return [...calls].flatMap((call) => {
    const parts = [...call[1]!.matchAll(/'([^']*)'/g)].map((m) => m[1]!);
    const fromSource = path.resolve(path.dirname(path.join(root, file)), ...parts);
    const fromDist = path.resolve(path.dirname(path.join(root, 'dist', file)), ...parts);
    const inside = (target: string) => !path.relative(root, target).startsWith('..');
    return inside(fromSource) || (compiled && inside(fromDist)) ? [] : [fromSource];
  });
}

describe('the repository is self-contained', () => {
  it('scans the test, source, bench and script files', () => {
    expect(sources.length).toBeGreaterThan(200);
    expect(sources).toContain('test/sandbox/sendmux/contract.test.ts');
  });

  it('builds every __dirname-relative path inside the repository', () => {
    const outside = sources.flatMap((file) =>
      dirnamePaths(file, readFileSync(path.join(root, file), 'utf8')).map((target) => `${file} -> ${target}`),
    );
    expect(outside).toEqual([]);
  });

  it('names no absolute path beside the clone (a sibling checkout or shared folder)', () => {
    const pattern = new RegExp(`${parent.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/(?!${path.basename(root)}/)[\\w.-]+`, 'g');
    const named = sources.flatMap((file) => [...readFileSync(path.join(root, file), 'utf8').matchAll(pattern)].map((m) => `${file}: ${m[0]}`));
    // The test's own pattern is built at run time, so this file does not name one either.
    expect(named).toEqual([]);
  });

  it('has no npm script that reads outside the repository', () => {
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    const outside = Object.entries(pkg.scripts).filter(([, command]) => /(^|[\s=])\.\.\/|(^|\s)\/(?!dev\/)\w/.test(command));
    expect(outside).toEqual([]);
  });

  it('carries the vendor OpenAPI subset the contract tests and gen:openapi-types read', () => {
    const spec = JSON.parse(readFileSync(path.join(root, 'vendor/sendmux/openapi-management-subset.json'), 'utf8')) as { paths: Record<string, unknown> };
    expect(Object.keys(spec.paths).sort()).toEqual(['/mailbox/me', '/mailboxes', '/mailboxes/{public_id}', '/mailboxes/{public_id}/keys', '/mailboxes/{public_id}/keys/{key_id}']);
    expect(readFileSync(path.join(root, 'vendor/sendmux/README.md'), 'utf8')).toMatch(/public OpenAPI specification[\s\S]*Refreshing it/);
  });
});
