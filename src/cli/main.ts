#!/usr/bin/env node
import { runCli } from './program';
import type { CliIo } from './context';

export { runCli, runCommands } from './program';
export { addConfigOption, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './context';
export type { CliContext, CliIo, CommandRegistrar } from './context';

const processIo: CliIo = {
  stdout: (s) => {
    process.stdout.write(s);
  },
  stderr: (s) => {
    process.stderr.write(s);
  },
  env: process.env,
  cwd: process.cwd(),
};

if (require.main === module) {
  void runCli(process.argv.slice(2), processIo).then((code) => {
    process.exitCode = code;
  });
}
