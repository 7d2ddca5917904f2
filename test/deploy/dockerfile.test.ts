import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ENV_VARS } from '../../src/config';
import { runtimeEnvOfDockerfile } from '../../bench/lib/services';
import { DOCKERFILE_PATH, REPO_ROOT, execForm, instructionsOf, parseDockerfile, parseHealthcheck, readRepoFile, type DockerStage } from './deploy-files';

/**
 * The Dockerfile, read as text (no Docker engine here): a multi-stage build whose final image holds
 * production dependencies only, runs as a non-root user with node as PID 1, and is health-checked.
 */

const stages = parseDockerfile(readFileSync(DOCKERFILE_PATH, 'utf8'));
const buildStage = stages[0]!;
const finalStage = stages[stages.length - 1]!;
const runCommands = (stage: DockerStage) => instructionsOf(stage, 'RUN').map((instruction) => instruction.args);
/** The stage the final image copies dist/ from. */
function productionDistStage(): DockerStage {
  const copy = instructionsOf(finalStage, 'COPY').find((instruction) => / \/app\/dist \.\/dist$/.test(instruction.args));
  const name = copy ? /^--from=(\S+)/.exec(copy.args)?.[1] : undefined;
  const stage = stages.find((candidate) => candidate.name === name);
  if (!stage) throw new Error('the final stage copies /app/dist from no named stage');
  return stage;
}
const defaultPort = ENV_VARS.find((variable) => variable.name === 'PORT')!.default!;

describe('Dockerfile', () => {
  it('has a named build stage and a separate final stage, every stage on Node 24 LTS (or on an earlier stage)', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(buildStage.name).toBeTruthy();
    const names = new Set(stages.map((stage) => stage.name));
    for (const stage of stages) {
      if (names.has(stage.image)) continue;
      // The tag, optionally pinned by digest (test/deploy/image-pins.test.ts).
      expect(stage.image).toMatch(/^node:24-bookworm-slim(@sha256:[0-9a-f]{64})?$/);
    }
  });

  it('installs every dependency from the lockfile and compiles in the build stage', () => {
    const runs = runCommands(buildStage);
    expect(runs.some((run) => /\bnpm ci\b/.test(run) && !run.includes('--omit=dev'))).toBe(true);
    expect(runs.some((run) => /\bnpm run build\b/.test(run))).toBe(true);
  });

  it('installs production dependencies only in the final stage', () => {
    const installs = runCommands(finalStage).filter((run) => /\bnpm (ci|install|i)\b/.test(run));
    expect(installs.length).toBeGreaterThan(0);
    for (const install of installs) expect(install).toMatch(/\bnpm ci\b.*--omit=dev/);
    expect(runCommands(finalStage).some((run) => /\bnpm run build\b/.test(run))).toBe(false);
  });

  it('takes the compiled output from the build stage, not the TypeScript sources', () => {
    const copies = instructionsOf(finalStage, 'COPY').map((instruction) => instruction.args);
    const distSource = productionDistStage();
    expect(copies).toContainEqual(`--from=${distSource.name} /app/dist ./dist`);
    const fromHost = copies.filter((copy) => !copy.startsWith('--from=')).flatMap((copy) => copy.split(/\s+/).slice(0, -1));
    expect(fromHost.filter((source) => /^(src|jobs|tsconfig.*\.json)$/.test(source))).toEqual([]);
  });

  it('sizes the young generation next to the heap cap, which alone would shrink it to ~1 MB (GC thrash)', () => {
    const nodeOptions = instructionsOf(finalStage, 'ENV')
      .map((instruction) => /^NODE_OPTIONS=("?)(.*)\1$/.exec(instruction.args)?.[2])
      .find((value) => value !== undefined);
    expect(nodeOptions).toBeDefined();
    const flags = nodeOptions!.split(/\s+/);
    if (!flags.some((flag) => flag.startsWith('--max-old-space-size='))) return;
    const semiSpace = flags.map((flag) => /^--max-semi-space-size=(\d+)$/.exec(flag)?.[1]).find((mb) => mb !== undefined);
    expect(Number(semiSpace)).toBeGreaterThanOrEqual(8);
  });

  it("caps glibc's malloc arenas, whose per-thread arenas would otherwise take the memory the semi-spaces need", () => {
    const envs = instructionsOf(finalStage, 'ENV').map((instruction) => instruction.args);
    const arenas = envs.map((args) => /^MALLOC_ARENA_MAX=(\d+)$/.exec(args)?.[1]).find((value) => value !== undefined);
    expect(Number(arenas)).toBeGreaterThanOrEqual(1);
    expect(Number(arenas)).toBeLessThanOrEqual(4);
  });

  it('is what the bench runs its workers with: the final stage\'s NODE_OPTIONS and MALLOC_ARENA_MAX', () => {
    const fromImage = Object.fromEntries(
      instructionsOf(finalStage, 'ENV')
        .map((instruction) => /^(NODE_OPTIONS|MALLOC_ARENA_MAX)=("?)(.*)\2$/.exec(instruction.args))
        .filter((match): match is RegExpExecArray => match !== null)
        .map((match) => [match[1]!, match[3]!]),
    );
    expect(Object.keys(fromImage).sort()).toEqual(['MALLOC_ARENA_MAX', 'NODE_OPTIONS']);
    expect(runtimeEnvOfDockerfile(readFileSync(DOCKERFILE_PATH, 'utf8'))).toEqual(fromImage);
  });

  it('sets NODE_ENV=production in the final stage', () => {
    expect(instructionsOf(finalStage, 'ENV').map((instruction) => instruction.args)).toContainEqual('NODE_ENV=production');
  });

  it('runs as the non-root node user from before the healthcheck and the command to the end', () => {
    const users = instructionsOf(finalStage, 'USER');
    expect(users.at(-1)?.args).toBe('node');
    const userLine = users.at(-1)!.line;
    for (const keyword of ['CMD', 'HEALTHCHECK']) expect(instructionsOf(finalStage, keyword).at(-1)!.line).toBeGreaterThan(userLine);
    expect(instructionsOf(finalStage, 'RUN').every((run) => run.line < userLine)).toBe(true);
  });

  it('starts node on the CLI directly (exec form, PID 1), with every role', () => {
    const cmds = instructionsOf(finalStage, 'CMD');
    expect(cmds).toHaveLength(1);
    expect(execForm(cmds[0]!.args)).toEqual(['node', 'dist/src/cli/main.js', 'start', '--role', 'all']);
    expect(instructionsOf(finalStage, 'ENTRYPOINT')).toEqual([]);
  });

  it('starts the same script package.json names as the rotator binary, which the build produces', () => {
    const manifest = JSON.parse(readRepoFile('package.json')) as { bin: Record<string, string> };
    expect(manifest.bin.rotator).toBe('dist/src/cli/main.js');
    expect(existsSync(path.join(REPO_ROOT, 'dist/src/cli/main.js'))).toBe(true);
  });

  it('checks health on /healthz with node (the slim image has no curl), on the PORT the server listens on', () => {
    const checks = instructionsOf(finalStage, 'HEALTHCHECK');
    expect(checks).toHaveLength(1);
    const { options, command } = parseHealthcheck(checks[0]!.args);
    expect(command?.slice(0, 2)).toEqual(['node', '-e']);
    expect(command?.[2]).toContain('/healthz');
    expect(command?.[2]).toContain(`process.env.PORT||'${defaultPort}'`);
    expect(Object.keys(options).sort()).toEqual(['interval', 'retries', 'start-period', 'timeout']);
  });

  it('exposes the default PORT', () => {
    expect(instructionsOf(finalStage, 'EXPOSE').map((instruction) => instruction.args)).toEqual([defaultPort]);
  });

  it('copies only files that exist in the repository', () => {
    for (const stage of stages) {
      for (const copy of instructionsOf(stage, 'COPY').filter((instruction) => !instruction.args.startsWith('--from='))) {
        const sources = copy.args.split(/\s+/).slice(0, -1);
        for (const source of sources) expect([source, existsSync(path.join(REPO_ROOT, source))]).toEqual([source, true]);
      }
    }
  });
});

describe('Dockerfile: the stand-ins ship separately', () => {
  it('builds the production dist/ from src/ and jobs/ only: no stage it comes from copies standins/', () => {
    const distSource = productionDistStage();
    expect(distSource.name).toBe(buildStage.name);
    const copied = instructionsOf(distSource, 'COPY').flatMap((instruction) => instruction.args.split(/\s+/).slice(0, -1));
    expect(copied.filter((source) => source.startsWith('standins') || source.includes('tsconfig.standins'))).toEqual([]);
    expect(runCommands(distSource).filter((run) => run.includes('build:standins'))).toEqual([]);
  });

  it('has a standins target that carries the full build and runs the Sendmux sandbox as a non-root user', () => {
    const standins = stages.find((stage) => stage.name === 'standins');
    expect(standins).toBeDefined();
    expect(standins).not.toBe(finalStage);
    const standinsBuild = stages.find((stage) => stage.name === 'standins-build');
    expect(standinsBuild?.image).toBe(buildStage.name);
    expect(runCommands(standinsBuild!)).toContainEqual('npm run build:standins');
    expect(instructionsOf(standins!, 'COPY').map((instruction) => instruction.args)).toContainEqual('--from=standins-build /app/dist ./dist');
    expect(instructionsOf(standins!, 'USER').at(-1)?.args).toBe('node');
    expect(execForm(instructionsOf(standins!, 'CMD').at(-1)!.args)).toEqual(['node', 'dist/standins/sendmux/main.js']);
    expect(existsSync(path.join(REPO_ROOT, 'dist/standins/sendmux/main.js'))).toBe(true);
  });
});

describe('.dockerignore', () => {
  const patterns = readRepoFile('.dockerignore')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const ignored = (file: string) =>
    patterns.some((pattern) => new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}(/.*)?$`).test(file));

  it('keeps host dependencies, build output, git history and local env files out of the build context', () => {
    for (const file of ['node_modules', 'dist', '.git', '.env', '.env.local', 'config/rotator.yaml']) {
      expect([file, ignored(file)]).toEqual([file, true]);
    }
  });

  it('keeps everything the Dockerfile copies from the build context', () => {
    const sources = stages.flatMap((stage) =>
      instructionsOf(stage, 'COPY')
        .filter((instruction) => !instruction.args.startsWith('--from='))
        .flatMap((instruction) => instruction.args.split(/\s+/).slice(0, -1)),
    );
    expect(sources.length).toBeGreaterThan(0);
    for (const source of [...sources, 'config/rotator.example.yaml', 'src/cli/main.ts']) {
      expect([source, ignored(source)]).toEqual([source, false]);
    }
  });
});
