import { ConfigError } from '../../src/config';
import { type CommandRegistrar, runCommands } from '../../src/cli/main';

const io = () => {
  const out = { stdout: '', stderr: '' };
  return {
    out,
    io: {
      stdout: (s: string) => {
        out.stdout += s;
      },
      stderr: (s: string) => {
        out.stderr += s;
      },
      env: {},
      cwd: process.cwd(),
    },
  };
};

describe('runCommands (how command modules plug in)', () => {
  it('returns the exit code an async action sets', async () => {
    const register: CommandRegistrar = (program, ctx) => {
      program.command('probe').action(async () => {
        await new Promise((resolve) => setImmediate(resolve));
        ctx.io.stdout('probed\n');
        ctx.setExitCode(3);
      });
    };
    const { io: captured, out } = io();
    expect(await runCommands(['probe'], captured, [register])).toBe(3);
    expect(out.stdout).toBe('probed\n');
  });

  it('turns a ConfigError from an action into its message and exit 1', async () => {
    const register: CommandRegistrar = (program) => {
      program.command('start').action(() => {
        throw new ConfigError([{ field: 'schedule', value: 'x', expected: 'a cron expression', source: 'file' }], '/etc/rotator.yaml');
      });
    };
    const { io: captured, out } = io();
    expect(await runCommands(['start'], captured, [register])).toBe(1);
    expect(out.stderr).toContain('  - schedule: got "x" — expected a cron expression');
  });

  it('reports an unexpected error with exit 1 and masks any Sendmux key in it', async () => {
    const register: CommandRegistrar = (program) => {
      program.command('boom').action(() => {
        throw new Error('request failed with key smx_root_ACTIONLEAK123');
      });
    };
    const { io: captured, out } = io();
    expect(await runCommands(['boom'], captured, [register])).toBe(1);
    expect(out.stderr).toBe('rotator: request failed with key smx_root_…(masked)\n');
  });
});
