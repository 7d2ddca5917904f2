import path from 'node:path';

/**
 * The local stand-ins (standins/: the Sendmux sandbox and the Secrets Manager stand-in), loaded on
 * demand. They are a product of this repository for the demo and the tests, not part of the
 * service: the production build (`npm run build`, tsconfig.build.json) compiles none of them, and
 * nothing under src/ or jobs/ refers to them at compile time — this module names only the shape
 * `rotator demo` uses, and loads them by path at run time (`npm run demo` builds them first,
 * tsconfig.standins.json). test/deploy/production-imports.test.ts keeps it so;
 * test/cli/stand-ins-shape.test.ts checks the real modules fit the shape below.
 */

export interface StandInServer {
  url: string;
  close(): Promise<void>;
}

export interface StandIns {
  sendmux: {
    DEFAULT_SANDBOX_MANAGEMENT_KEY: string;
    startSendmuxSandbox(options: { port?: number; mailboxes?: Array<{ id: string; email: string }> }): Promise<StandInServer>;
  };
  secretsManager: {
    startSecretsManagerStandIn(options: { region?: string; port?: number }): Promise<StandInServer>;
  };
}

/** The stand-ins' code is missing: this is the production image (or a build without standins/). */
export class StandInsMissingError extends Error {
  constructor(readonly missing: string) {
    super(
      `the local stand-ins (${missing}) are not installed here: they are not part of the production build or image. ` +
        'Run the demo from a clone of the repository (npm ci && npm run demo), or run the stand-ins from their own image ' +
        '(docker build --target standins).',
    );
    this.name = 'StandInsMissingError';
  }
}

function isModuleNotFound(error: unknown): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND';
}

/**
 * Where the stand-ins live beside this module: `<root>/standins/<name>` from `<root>/src/cli/`
 * (compiled: dist/standins beside dist/src; from sources under ts-jest: the repository's standins/).
 */
export function standInPath(name: 'sendmux' | 'secrets-manager'): string {
  return path.join(__dirname, '..', '..', 'standins', name);
}

/**
 * Loads both stand-ins. Throws StandInsMissingError when their code is absent; any other error (a
 * bug in them) propagates unchanged.
 */
export async function loadStandIns(): Promise<StandIns> {
  const load = <T>(name: 'sendmux' | 'secrets-manager'): T => {
    try {
      // A path, not a literal specifier: the compiler must not follow it into the production build.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      return require(standInPath(name)) as T;
    } catch (error) {
      if (isModuleNotFound(error) && (error as Error).message.includes(standInPath(name))) throw new StandInsMissingError(`standins/${name}`);
      throw error;
    }
  };
  return { sendmux: load<StandIns['sendmux']>('sendmux'), secretsManager: load<StandIns['secretsManager']>('secrets-manager') };
}
