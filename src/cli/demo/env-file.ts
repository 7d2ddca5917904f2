import { accessSync, closeSync, constants as fsConstants, fstatSync, lstatSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';

/** Where `rotator demo` writes the environment the CLI needs to reach it, relative to the cwd. */
export const DEFAULT_DEMO_ENV_FILE = '.rotator-demo.env';

/**
 * `KEY=value` lines in the dotenv format `node --env-file` reads; a value with spaces, `#` or
 * quotes is wrapped in a quote character it does not contain (Node's parser has no escapes).
 * Throws on a value with a line break or all three quote characters.
 */
export function formatEnvFile(header: readonly string[], variables: Readonly<Record<string, string>>): string {
  const lines = header.map((line) => `# ${line}`);
  for (const [name, value] of Object.entries(variables)) {
    if (/[\r\n]/.test(value)) throw new Error(`${name} holds a line break; it cannot be written to an env file`);
    lines.push(`${name}=${quoted(name, value)}`);
  }
  return `${lines.join('\n')}\n`;
}

function quoted(name: string, value: string): string {
  if (!/[\s#"'`\\]/.test(value)) return value;
  // Single quotes first: inside double quotes Node turns `\n` into a line break.
  const quote = ["'", '"', '`'].find((q) => !value.includes(q));
  if (quote === undefined) throw new Error(`${name} holds all three quote characters; it cannot be written to an env file`);
  return `${quote}${value}${quote}`;
}

/** The first line of every env file the demo writes; `claimEnvFile` reads the writer's pid back from it. */
export function envFileMarker(pid: number): string {
  return `Written by rotator demo (pid ${pid})`;
}
const MARKER = /^# Written by rotator demo \(pid (\d+)\)/;

/** The env file cannot be claimed: an existing file that is not a stale demo file, or an unusable directory. */
export class DemoEnvFileError extends Error {
  override readonly name = 'DemoEnvFileError';
}

/** A file this process created; write() replaces its content, remove() deletes it only while it is still that file with that content. */
export interface ClaimedEnvFile {
  readonly path: string;
  /** Set when a stale env file of a demo that no longer runs was replaced: that demo's pid. */
  readonly replacedStalePid?: number;
  write(content: string): void;
  remove(): void;
}

/**
 * Whether the demo with this pid still runs: a process with that pid exists (EPERM: under another
 * user) and, where /proc shows its command line (Linux), that line has a `demo` argument, so a
 * pid the system has since given to another program does not keep a stale file alive.
 */
export function demoProcessRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  let commandLine: string;
  try {
    commandLine = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return true;
  }
  return commandLine.split('\0').includes('demo');
}

/**
 * Creates `file` with O_EXCL (mode 0600) holding `content`, before the demo starts anything, so
 * it never writes over or deletes a file it did not create. An existing file is replaced only
 * when it is a demo env file (its first line is envFileMarker) whose writer no longer runs
 * (`isAlive`, default demoProcessRuns). Throws DemoEnvFileError naming `option` when the directory
 * is missing or not writable, when a running demo (pid N) owns the file, or when the file is
 * anybody else's.
 */
export function claimEnvFile(file: string, content: string, option: string, isAlive: (pid: number) => boolean = demoProcessRuns): ClaimedEnvFile {
  const dir = path.dirname(file);
  let dirStat;
  try {
    dirStat = statSync(dir);
  } catch {
    throw new DemoEnvFileError(`${option} ${file}: the directory ${dir} does not exist. Create it, or choose another path with ${option}.`);
  }
  if (!dirStat.isDirectory()) throw new DemoEnvFileError(`${option} ${file}: ${dir} is not a directory. Choose another path with ${option}.`);
  try {
    accessSync(dir, fsConstants.W_OK);
  } catch {
    throw new DemoEnvFileError(`${option} ${file}: the directory ${dir} is not writable by this user. Choose another path with ${option}.`);
  }

  let replacedStalePid: number | undefined;
  let fd: number;
  try {
    fd = openSync(file, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new DemoEnvFileError(`${option} ${file}: cannot create it (${(err as Error).message}). Choose another path with ${option}.`);
    }
    const writer = demoWriterPid(file);
    if (writer === undefined) {
      throw new DemoEnvFileError(
        `${option} ${file}: the file exists and was not written by rotator demo; the demo never writes over a file it did not create. ` +
          `Choose another path with ${option} (default ${DEFAULT_DEMO_ENV_FILE}).`,
      );
    }
    if (isAlive(writer)) {
      throw new DemoEnvFileError(
        `${option} ${file}: another rotator demo (pid ${writer}) is running and uses this file. ` +
          `Stop that demo, or give this one its own file with ${option} (and its own ports with --sendmux-port, --secrets-manager-port and PORT).`,
      );
    }
    // A demo that was killed (SIGKILL, a crash) left it: nobody uses it any more.
    rmSync(file, { force: true });
    replacedStalePid = writer;
    try {
      fd = openSync(file, 'wx', 0o600);
    } catch (again) {
      throw new DemoEnvFileError(`${option} ${file}: cannot create it (${(again as Error).message}). Choose another path with ${option}.`);
    }
  }
  const identity = fstatSync(fd);
  let written = content;
  writeSync(fd, written, 0);
  closeSync(fd);
  const isStillOurs = (): boolean => {
    try {
      const now = lstatSync(file);
      return now.ino === identity.ino && now.dev === identity.dev && readFileSync(file, 'utf8') === written;
    } catch {
      return false;
    }
  };
  return {
    path: file,
    ...(replacedStalePid === undefined ? {} : { replacedStalePid }),
    write(next) {
      if (!isStillOurs()) throw new DemoEnvFileError(`${file} was changed or replaced by someone else while the demo started; it was left alone.`);
      writeFileSync(file, next, { mode: 0o600 });
      written = next;
    },
    remove() {
      // Already gone, or replaced or edited by someone else: leave it.
      if (isStillOurs()) rmSync(file, { force: true });
    },
  };
}

/** The pid in a regular file's demo marker line, or undefined when it is not a demo env file. */
function demoWriterPid(file: string): number | undefined {
  try {
    if (!lstatSync(file).isFile()) return undefined;
    const fd = openSync(file, 'r');
    try {
      const head = Buffer.alloc(200);
      const length = readSync(fd, head, 0, head.length, 0);
      const pid = MARKER.exec(head.subarray(0, length).toString('utf8'))?.[1];
      return pid === undefined ? undefined : Number(pid);
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
}
