import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify as toYaml } from 'yaml';

export const REPO_ROOT = path.resolve(__dirname, '../..');
export const CLI_ENTRY = path.join(REPO_ROOT, 'dist/src/cli/main.js');

/** Writes a YAML config for a spawned rotator and returns its path. */
export function writeConfigFile(config: Record<string, unknown>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'rotator-test-'));
  const file = path.join(dir, 'rotator.yaml');
  writeFileSync(file, toYaml(config));
  return file;
}

/** A `rotator` CLI process built from dist/, with its output captured for assertions and leak scans. */
export class RotatorProcess {
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcess;

  constructor(args: string[], env: NodeJS.ProcessEnv) {
    this.child = spawn(process.execPath, [CLI_ENTRY, ...args], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    collectLines(this.child.stdout!, this.stdout);
    collectLines(this.child.stderr!, this.stderr);
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** The exit code once the process has exited (null while it runs, or when a signal ended it). */
  exitCode(): number | null {
    return this.child.exitCode;
  }

  output(): string {
    return [...this.stdout, ...this.stderr].join('\n');
  }

  /** Parsed pino lines of stdout. */
  logLines(): Array<Record<string, unknown>> {
    return this.stdout.flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }

  async stop(): Promise<void> {
    this.kill('SIGKILL');
    await this.exited;
  }
}

function collectLines(stream: NodeJS.ReadableStream, into: string[]): void {
  let buffer = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffer += chunk;
    let newline = buffer.indexOf('\n');
    while (newline >= 0) {
      into.push(buffer.slice(0, newline));
      buffer = buffer.slice(newline + 1);
      newline = buffer.indexOf('\n');
    }
  });
  stream.on('end', () => {
    if (buffer) into.push(buffer);
  });
}

/** Runs the CLI to completion. */
export async function runRotatorCli(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000) {
  const proc = new RotatorProcess(args, env);
  const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
  const { code } = await proc.exited;
  clearTimeout(timer);
  return { code, stdout: proc.stdout.join('\n'), stderr: proc.stderr.join('\n') };
}

/** Whether a process with this pid exists (signal 0 probes without signalling). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
