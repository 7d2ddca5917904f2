import { Command, CommanderError } from 'commander';
import { ConfigError, ENV_VARS } from '../config';
import { scrubSendmuxKeys } from '../config/masking';
import { registerConfigCommands } from './commands/config';
import { registerRotateCommand } from './commands/rotate';
import { registerStartCommand } from './commands/start';
import { registerDemoCommand } from './commands/demo';
import { registerOperateCommands } from './commands/operate';
import { registerIncidentCommands } from './commands/incidents';
import { type CliIo, type CommandRegistrar, createCliContext, DemoGoneError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './context';
import { readPackageVersion } from './version';
import { errorText } from '../logging/error-summary';

/** Every command module; a new command adds its registrar here. */
const COMMANDS: readonly CommandRegistrar[] = [
  registerConfigCommands,
  registerStartCommand,
  registerRotateCommand,
  registerOperateCommands,
  registerIncidentCommands,
  registerDemoCommand,
];

function environmentHelp(): string {
  const width = Math.max(...ENV_VARS.map((variable) => variable.name.length));
  const lines = ENV_VARS.map((variable) => {
    const requirement = variable.required === 'one-of' ? ' (this or its alternative is required)' : variable.required ? ' (required)' : '';
    const fallback = variable.default === undefined ? '' : ` [default: ${variable.default}]`;
    return `  ${variable.name.padEnd(width)}  ${variable.description}${requirement}${fallback}`;
  });
  return `\nEnvironment variables:\n${lines.join('\n')}\n`;
}

/**
 * Runs the CLI with `argv` (without node and script) and returns the exit code. Never calls
 * process.exit, so it can run inside tests and inside other processes.
 */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  return runCommands(argv, io, COMMANDS);
}

/** `runCli` with a chosen set of commands, so a command module can be tested on its own. */
export async function runCommands(argv: string[], io: CliIo, registrars: readonly CommandRegistrar[]): Promise<number> {
  const { ctx, exitCode } = createCliContext(io);
  const program = new Command('rotator');
  // Both must be set before commands are added: subcommands copy them when created.
  program.exitOverride();
  program.configureOutput({
    writeOut: (text) => io.stdout(text),
    writeErr: (text) => io.stderr(text),
    outputError: (text, write) => write(text),
  });
  program
    .description('Rotates Sendmux mailbox API keys on a schedule, storing them in AWS Secrets Manager.')
    // Not commander's .version(): that one fires on a -V anywhere, even as another option's value
    // (`history --limit -V` printed the version and exited 0). Only the top level answers it.
    .option('-V, --version', 'print the version')
    // Top-level options only before the command: after it, -V belongs to the command's arguments.
    .enablePositionalOptions()
    .helpOption('-h, --help', 'show help')
    .showHelpAfterError('(run "rotator --help" for usage)')
    .addHelpText('after', environmentHelp());

  program.on('option:version', () => {
    const version = readPackageVersion();
    io.stdout(`${version}\n`);
    throw new CommanderError(0, 'commander.version', version);
  });

  for (const register of registrars) register(program, ctx);

  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode();
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    if (error instanceof DemoGoneError) {
      io.stderr(`rotator: ${error.message}\n`);
      return EXIT_FAILURE;
    }
    if (error instanceof ConfigError) {
      io.stderr(`${error.message}\n`);
      return EXIT_FAILURE;
    }
    const message = errorText(error);
    // A command's error may quote a request or response; never let a key through.
    io.stderr(`rotator: ${scrubSendmuxKeys(message)}\n`);
    return EXIT_FAILURE;
  }
}
