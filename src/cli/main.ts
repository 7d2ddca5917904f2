#!/usr/bin/env node
// First, before any other module loads: on an unsupported Node the rotator says so in one line
// and exits 1, instead of half-working (or failing deep inside a dependency). Statements run in
// source order in the compiled CommonJS, so './program' and everything it loads come after this.
import { nodeVersionRefusal } from './node-version';

if (require.main === module) {
  const refusal = nodeVersionRefusal(process.versions.node);
  if (refusal !== undefined) {
    process.stderr.write(`${refusal}\n`);
    process.exit(1);
  }
}

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
  // A reader that stops early (`rotator --help | head`) closes the pipe: that ends the output, not
  // the program with a stack trace.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw err;
    });
  }
  void runCli(process.argv.slice(2), processIo).then((code) => {
    process.exitCode = code;
  });
}
