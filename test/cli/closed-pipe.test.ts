import { spawn } from 'node:child_process';
import { CLI_ENTRY } from '../support/rotator-process';

/** The built binary, as an operator pipes it: `rotator --help | head -1`. */
describe('a reader that closes the pipe early', () => {
  it('ends the output quietly with exit 0 instead of crashing with EPIPE', async () => {
    const child = spawn(process.execPath, [CLI_ENTRY, 'config', '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    // Close our end before the child writes: its first write finds the pipe gone.
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).not.toMatch(/EPIPE|Error/);
    expect(code).toBe(0);
  });
});
