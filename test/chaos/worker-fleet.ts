import { RotatorProcess } from '../support/rotator-process';
import type { TextToScan } from './leak-scan';

/**
 * Real worker processes (`rotator start --role worker`, the built binary) that the chaos suite
 * kills with SIGKILL and replaces. Every process's output is kept, the killed ones' included, so
 * it can be scanned for secrets at the end.
 */
export class WorkerFleet {
  private readonly running: RotatorProcess[] = [];
  private readonly all: RotatorProcess[] = [];
  private readonly exited = new Set<RotatorProcess>();
  private readonly died: Array<{ pid: number | undefined; output: string }> = [];
  kills = 0;

  constructor(
    private readonly configPath: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  get size(): number {
    return this.running.length;
  }

  start(count = 1): void {
    for (let i = 0; i < count; i += 1) {
      // PORT=0: every process serves probes, and several run at once on this host.
      const proc = new RotatorProcess(['start', '--role', 'worker', '--config', this.configPath], { ...this.env, PORT: '0', HOST: '127.0.0.1' });
      void proc.exited.then(() => {
        this.exited.add(proc);
        // Still listed as running: nobody here killed it.
        if (this.running.includes(proc)) this.died.push({ pid: proc.pid, output: proc.output().slice(-2000) });
      });
      this.running.push(proc);
      this.all.push(proc);
    }
  }

  /** SIGKILLs one running worker (chosen with `random`) and waits until it is gone. */
  async killOne(random: () => number = Math.random): Promise<void> {
    if (this.running.length === 0) throw new Error('WorkerFleet.killOne: no worker is running');
    const index = Math.floor(random() * this.running.length);
    const [victim] = this.running.splice(index, 1);
    victim!.kill('SIGKILL');
    const exit = await victim!.exited;
    if (exit.signal !== 'SIGKILL') {
      throw new Error(`worker ${victim!.pid} exited with code ${exit.code} before it was killed:\n${victim!.output().slice(-2000)}`);
    }
    this.kills += 1;
  }

  /** SIGKILLs the worker started first (the one holding the job when only it was running). */
  async killOldest(): Promise<void> {
    await this.killOne(() => 0);
  }

  /** Waits until every running worker logged that it started (connected and taking jobs). */
  async ready(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const proc of this.running) {
      while (!proc.stdout.some((line) => line.includes('"msg":"rotator started"'))) {
        if (this.exited.has(proc)) throw new Error(`worker ${proc.pid} exited before it started:\n${proc.output().slice(-2000)}`);
        if (Date.now() > deadline) throw new Error(`worker ${proc.pid} did not start within ${timeoutMs}ms:\n${proc.output().slice(-2000)}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    }
  }

  /** Kills one worker and starts its replacement at once. */
  async killAndReplace(random: () => number = Math.random): Promise<void> {
    await this.killOne(random);
    this.start(1);
  }

  /** Workers that died on their own (not killed by us) are a finding, not noise. */
  crashed(): Array<{ pid: number | undefined; output: string }> {
    return [...this.died];
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.running.splice(0).map((proc) => proc.stop()));
  }

  outputs(): TextToScan[] {
    return this.all.map((proc, i) => ({ source: `worker process #${i + 1} (pid ${proc.pid}) output`, text: proc.output() }));
  }
}
