import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MIN_NODE_MAJOR } from '../../src/cli/node-version';

/**
 * The project runs on a supported Node LTS: package.json asks for Node ≥ 24 (Node 20 reached its end
 * of life in April 2026, production dependencies such as cookie and content-disposition require
 * 22, and the image and CI run 24), and CI runs the tests on Node 24, installing it from the npm registry where the machine's
 * node is older (.ci/node.sh, sourced by .ci/run).
 */

const root = path.resolve(__dirname, '../..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  engines: { node: string };
  devDependencies: Record<string, string>;
};
const ciRun = readFileSync(path.join(root, '.ci/run'), 'utf8');
const nodeSh = path.join(root, '.ci/node.sh');
const arch = os.arch() === 'arm64' ? 'arm64' : 'x64';

describe('the Node runtime the project declares', () => {
  it('requires Node 24 or later in package.json engines, the same major the CLI enforces at start', () => {
    expect(pkg.engines.node).toBe(`>=${MIN_NODE_MAJOR}`);
    expect(MIN_NODE_MAJOR).toBe(24);
  });

  it('types the code against Node 24 (the LTS CI and the image run)', () => {
    expect(pkg.devDependencies['@types/node']).toMatch(/^\^24\./);
  });

  it('runs these tests on Node 24 or later', () => {
    expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(24);
  });
});

describe('.ci/run', () => {
  it('makes node a Node 24 before npm ci and npm test', () => {
    const ensure = ciRun.indexOf('ensure_ci_node');
    expect(ciRun).toContain('. .ci/node.sh');
    expect(ensure).toBeGreaterThan(ciRun.indexOf('. .ci/node.sh'));
    expect(ensure).toBeLessThan(ciRun.indexOf('npm ci'));
    expect(ensure).toBeLessThan(ciRun.indexOf('npm test'));
  });
});

describe('.ci/node.sh ensure_ci_node', () => {
  let dir: string;
  let bin: string;
  let cache: string;

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ci-node-'));
    bin = path.join(dir, 'bin');
    cache = path.join(dir, 'cache');
    mkdirSync(bin);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** An executable `node` that reports `version` for `node -p 'process.versions.node'`. */
  function fakeNode(where: string, version: string): void {
    mkdirSync(where, { recursive: true });
    writeFileSync(path.join(where, 'node'), `#!/bin/sh\necho ${version}\n`);
    chmodSync(path.join(where, 'node'), 0o755);
  }

  /** Runs ensure_ci_node with only `bin` and the system directories on PATH; returns the node it leaves. */
  function ensure(): { status: number | null; node: string; stdout: string; stderr: string } {
    const result = spawnSync(
      'bash',
      ['-c', `. "${nodeSh}" && ensure_ci_node && command -v node && node -p 'process.versions.node'`],
      { env: { PATH: `${bin}:/usr/bin:/bin`, HOME: dir, XDG_CACHE_HOME: cache }, encoding: 'utf8' },
    );
    return { status: result.status, node: result.stdout.trim().split('\n').slice(-2).join(' '), stdout: result.stdout, stderr: result.stderr };
  }

  const cachedBin = () => path.join(cache, 'rotator-node24', 'node_modules', `node-linux-${arch}`, 'bin');

  it('keeps the machine node when it is already Node 24', () => {
    fakeNode(bin, '24.11.0');
    expect(ensure()).toMatchObject({ status: 0, node: `${bin}/node 24.11.0` });
  });

  it('puts a cached Node 24 first on PATH when the machine node is Node 20', () => {
    fakeNode(bin, '20.19.5');
    fakeNode(cachedBin(), '24.22.0');
    expect(ensure()).toMatchObject({ status: 0, node: `${cachedBin()}/node 24.22.0` });
  });

  it('installs node-linux-<arch>@24 from the npm registry into the cache when none is cached', () => {
    fakeNode(bin, '20.19.5');
    // Stands in for npm: records its arguments and lays out the package as the registry's does.
    const log = path.join(dir, 'npm-args');
    writeFileSync(
      path.join(bin, 'npm'),
      `#!/bin/sh\necho "$@" > "${log}"\nmkdir -p "${cachedBin()}"\nprintf '#!/bin/sh\\necho 24.22.3\\n' > "${cachedBin()}/node"\nchmod +x "${cachedBin()}/node"\n`,
    );
    chmodSync(path.join(bin, 'npm'), 0o755);

    const result = ensure();

    expect(result).toMatchObject({ status: 0, node: `${cachedBin()}/node 24.22.3` });
    const args = readFileSync(log, 'utf8').trim().split(' ');
    expect(args[0]).toBe('install');
    expect(args).toContain(`node-linux-${arch}@24`);
    expect(args[args.indexOf('--prefix') + 1]).toBe(path.join(cache, 'rotator-node24'));
  });

  it('is what scripts/use-node24.sh (the README\'s command) runs: sourced from any directory, it leaves a Node 24 first on PATH', () => {
    fakeNode(bin, '20.19.5');
    fakeNode(cachedBin(), '24.22.0');
    const result = spawnSync('bash', ['-c', `cd "${dir}" && source "${path.join(root, 'scripts/use-node24.sh')}" && command -v node`], {
      env: { PATH: `${bin}:/usr/bin:/bin`, HOME: dir, XDG_CACHE_HOME: cache },
      encoding: 'utf8',
    });
    expect(result.status).toBe(0);
    expect(result.stdout.trim().split('\n').pop()).toBe(`${cachedBin()}/node`);
    expect(result.stdout).toContain('node 24.22.0 (');
  });

  it('fails when what it installed is not Node 24', () => {
    fakeNode(bin, '20.19.5');
    fakeNode(cachedBin(), '22.1.0');
    expect(ensure().status).not.toBe(0);
  });

  it('keeps the cache outside the repository', () => {
    expect(readFileSync(nodeSh, 'utf8')).toContain('${XDG_CACHE_HOME:-$HOME/.cache}/rotator-node');
    expect(existsSync(path.join(root, 'rotator-node24'))).toBe(false);
  });
});
