import { runtimeEnvOfDockerfile } from '../../bench/lib/services';

/**
 * The bench runs its workers with the runtime settings of the image's final stage. Every ENV form
 * Docker accepts is read as Docker reads it, and one it cannot read stops the bench instead of
 * letting it measure an untuned worker.
 */
const finalStage = (lines: string) => `FROM node:24-bookworm-slim AS build\nENV NODE_OPTIONS="--build-only"\n\nFROM node:24-bookworm-slim AS runtime\n${lines}\nCMD ["node"]\n`;

describe('the runtime settings the bench reads from the Dockerfile', () => {
  it.each<[string, string, Record<string, string>]>([
    ['one variable per ENV, quoted', 'ENV NODE_OPTIONS="--max-old-space-size=160 --max-semi-space-size=16"\nENV MALLOC_ARENA_MAX=2', { NODE_OPTIONS: '--max-old-space-size=160 --max-semi-space-size=16', MALLOC_ARENA_MAX: '2' }],
    ['several variables in one ENV', 'ENV NODE_OPTIONS="--a --b" MALLOC_ARENA_MAX=2', { NODE_OPTIONS: '--a --b', MALLOC_ARENA_MAX: '2' }],
    ['a tuning variable after another one', 'ENV TZ=UTC MALLOC_ARENA_MAX=2', { MALLOC_ARENA_MAX: '2' }],
    ['a line continuation', 'ENV NODE_OPTIONS="--a" \\\n    MALLOC_ARENA_MAX=2', { NODE_OPTIONS: '--a', MALLOC_ARENA_MAX: '2' }],
    ['lowercase and indented instructions', '  env MALLOC_ARENA_MAX=2\n\tENV NODE_OPTIONS=--a', { NODE_OPTIONS: '--a', MALLOC_ARENA_MAX: '2' }],
    ['the legacy "ENV NAME value" form', 'ENV MALLOC_ARENA_MAX 2', { MALLOC_ARENA_MAX: '2' }],
    ['a variable set twice (the later wins)', 'ENV MALLOC_ARENA_MAX=8\nENV MALLOC_ARENA_MAX=2', { MALLOC_ARENA_MAX: '2' }],
    ['single quotes and escaped spaces', "ENV NODE_OPTIONS='--a --b' MALLOC_ARENA_MAX=\\2", { NODE_OPTIONS: '--a --b', MALLOC_ARENA_MAX: '2' }],
    ['a commented-out setting', '# ENV MALLOC_ARENA_MAX=64\nENV MALLOC_ARENA_MAX=2', { MALLOC_ARENA_MAX: '2' }],
    ['CRLF line endings', 'ENV MALLOC_ARENA_MAX=2\r\nENV NODE_OPTIONS=--a\r', { NODE_OPTIONS: '--a', MALLOC_ARENA_MAX: '2' }],
    ['none in the final stage (an earlier stage\'s do not count)', 'ENV NODE_ENV=production', {}],
  ])('reads %s', (_, lines, expected) => {
    expect(runtimeEnvOfDockerfile(finalStage(lines))).toEqual(expected);
  });

  it.each<[string, string, RegExp]>([
    ['an unterminated quote', 'ENV NODE_OPTIONS="--a', /unterminated quote/],
    ['a value that refers to a build argument', 'ARG ARENAS=2\nENV MALLOC_ARENA_MAX=${ARENAS}', /refers to a variable/],
    ['a trailing line continuation', 'ENV MALLOC_ARENA_MAX=2 \\', /line continuation/],
  ])('refuses %s rather than run workers untuned', (_, lines, message) => {
    const text = lines.endsWith('\\') ? `FROM node:24-bookworm-slim\n${lines}` : finalStage(lines);
    expect(() => runtimeEnvOfDockerfile(text)).toThrow(message);
  });
});
