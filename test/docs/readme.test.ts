import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { runCli } from '../../src/cli/program';
import { ENV_VARS } from '../../src/config';

/**
 * The README and docs/ are the operator's manual: every command, option, variable and file they
 * name must exist. The README is the one-page entry; the depth lives in docs/.
 */
const root = path.resolve(__dirname, '../..');
const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
const MANUAL_FILES = ['README.md', ...readdirSync(path.join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`), 'bench/HISTORY.md'];
/** README and every docs/*.md (and the bench history), concatenated: the whole operator's manual. */
const manual = MANUAL_FILES.map((file) => readFileSync(path.join(root, file), 'utf8')).join('\n');
const configuration = readFileSync(path.join(root, 'docs/configuration.md'), 'utf8');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };

async function help(args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const io = { stdout: (s: string) => (out += s), stderr: (s: string) => (out += s), env: {}, cwd: root };
  const code = await runCli([...args, '--help'], io);
  return { code, out };
}

/** Code the manual shows: fenced blocks and `inline` spans. */
function codeSnippets(): string[] {
  const snippets: string[] = [];
  for (const block of manual.matchAll(/```[a-z]*\n([\s\S]*?)```/g)) snippets.push(...block[1]!.split('\n'));
  for (const span of manual.replace(/```[\s\S]*?```/g, '').matchAll(/`([^`\n]+)`/g)) snippets.push(span[1]!);
  return snippets;
}

/** `rotator <command> [check]` invocations shown as code, with the --options they use. */
function commandMentions(): Map<string, Set<string>> {
  const mentions = new Map<string, Set<string>>();
  for (const snippet of codeSnippets()) {
    // An invocation starts the snippet, possibly after VAR=value assignments.
    const match = /^\s*(?:[A-Z_]+=\S+\s+)*(?:rotator|node dist\/src\/cli\/main\.js) ([a-z][a-z-]*)(?: (check))?/.exec(snippet);
    if (!match) continue;
    const command = [match[1], match[2]].filter(Boolean).join(' ');
    const options = mentions.get(command) ?? new Set<string>();
    for (const opt of snippet.slice(match.index).matchAll(/--[a-z][a-z-]+/g)) options.add(opt[0]);
    mentions.set(command, options);
  }
  return mentions;
}

describe('README', () => {
  it('fits on a page: at most 300 lines', () => {
    expect(readme.split('\n').length).toBeLessThanOrEqual(300);
  });

  it('shows what a person sees and where to click: a plain rotation line, /admin/mailboxes and /admin/queues', () => {
    expect(readme).toMatch(/^\d\d:\d\d:\d\d {2}rotated {2}mbx_demo_0001 {2}key smx_\w+ -> smx_\w+ {2}secret version [0-9a-f-]{36} {2}old key revoked at/m);
    expect(readme).toContain('/admin/mailboxes');
    expect(readme).toContain('/admin/queues');
  });

  it('links every docs/ file and the bench history', () => {
    for (const file of MANUAL_FILES.filter((f) => f !== 'README.md')) expect(readme).toContain(`](${file}`);
  });
});

describe('the operator manual (README.md and docs/)', () => {
  const mentions = commandMentions();

  it('mentions the main commands', () => {
    for (const command of ['start', 'rotate', 'status', 'pause', 'resume', 'history', 'plan', 'demo', 'config check']) {
      expect(mentions.has(command)).toBe(true);
    }
  });

  it.each([...mentions.entries()])('names only commands and options that exist: rotator %s', async (command, options) => {
      const top = await help([]);
      const commands = new Set([...top.out.matchAll(/^ {2}([a-z][a-z-]*)(?: \[|\s|$)/gm)].map((m) => m[1]!));
      expect(commands.has(command.split(' ')[0]!) ? command : `unknown command ${command}`).toBe(command);
      const { code, out } = await help(command.split(' '));
      expect(code).toBe(0);
      for (const option of options) {
        if (option === '--help') continue;
        expect(`${command}: ${out.includes(option) ? 'has' : 'lacks'} ${option}`).toBe(`${command}: has ${option}`);
      }
  });

  it('documents every environment variable the code reads in docs/configuration.md, and names no other rotator variable', () => {
    for (const variable of ENV_VARS) expect(configuration).toContain(`\`${variable.name}\``);
    const known = new Set([...ENV_VARS.map((v) => v.name), 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_PROFILE', 'AWS_DEFAULT_REGION', 'AWS_CONFIG_FILE']);
    const documented = [...configuration.matchAll(/^\| `([A-Z][A-Z0-9_]+)` \|/gm)].map((m) => m[1]!);
    expect(documented.length).toBeGreaterThanOrEqual(ENV_VARS.length);
    for (const name of documented) expect(known.has(name) ? name : `unknown variable ${name}`).toBe(name);
  });

  it('names only npm scripts that exist', () => {
    for (const match of manual.matchAll(/npm run ([a-z][a-z:-]*)/g)) {
      expect(pkg.scripts[match[1]!] ? match[1] : `missing script ${match[1]}`).toBe(match[1]);
    }
    expect(readme).toContain('npm test');
    expect(pkg.scripts.test).toBeDefined();
  });

  it('names only repository files that exist', () => {
    // config/rotator.yaml is the operator's own file (the default ROTATOR_CONFIG), not ours.
    const files = new Set(
      [...manual.matchAll(/`((?:config|src|jobs|test|bench|scripts|docs|vendor|\.ci)\/[A-Za-z0-9_./-]+\.[a-z]+)`/g)].map((m) => m[1]!).filter((f) => f !== 'config/rotator.yaml'),
    );
    expect(files.size).toBeGreaterThan(3);
    for (const file of files) expect(existsSync(path.join(root, file)) ? file : `missing ${file}`).toBe(file);
  });

  it('gives the quick-start and test commands that CI runs', () => {
    expect(readme).toContain('npm ci && npm run demo');
    expect(readFileSync(path.join(root, '.ci/run'), 'utf8')).toMatch(/^npm test\b/m);
  });
});

describe('links in the operator manual', () => {
  /** GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes. */
  const anchorsOf = (text: string) =>
    new Set([...text.replace(/```[\s\S]*?```/g, '').matchAll(/^#+ (.+)$/gm)].map((m) => m[1]!.trim().toLowerCase().replace(/[^\w\- ]/g, '').replace(/ /g, '-')));

  it.each(MANUAL_FILES)('%s links only files and headings that exist', (file) => {
    const text = readFileSync(path.join(root, file), 'utf8');
    const broken: string[] = [];
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^https?:/.test(target!)) continue;
      const [linked, anchor] = target!.split('#') as [string, string | undefined];
      const dest = linked === '' ? path.join(root, file) : path.resolve(path.dirname(path.join(root, file)), linked);
      if (!existsSync(dest)) broken.push(target!);
      else if (anchor && dest.endsWith('.md') && !anchorsOf(readFileSync(dest, 'utf8')).has(anchor)) broken.push(target!);
    }
    expect(broken).toEqual([]);
  });
});
