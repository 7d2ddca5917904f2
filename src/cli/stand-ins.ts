/**
 * The local stand-ins (src/sandbox: the Sendmux sandbox and the Secrets Manager stand-in), loaded
 * on demand. They are not part of the production image (the Dockerfile leaves dist/src/sandbox out;
 * they ship as the `standins` build target), so only `rotator demo` reaches them, and only through
 * here: production code never imports src/sandbox (test/deploy/production-imports.test.ts).
 */

export type SendmuxSandboxModule = typeof import('../sandbox/sendmux');
export type SecretsManagerStandInModule = typeof import('../sandbox/secrets-manager');

export interface StandIns {
  sendmux: SendmuxSandboxModule;
  secretsManager: SecretsManagerStandInModule;
}

/** The stand-ins' code is missing: this is the production image (or a build without src/sandbox). */
export class StandInsMissingError extends Error {
  constructor(readonly missing: string) {
    super(
      `the local stand-ins (${missing}) are not installed here: they are not part of the production image. ` +
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
 * Loads both stand-ins. Throws StandInsMissingError when their compiled code is absent; any other
 * error (a bug in them) propagates unchanged.
 */
export async function loadStandIns(): Promise<StandIns> {
  const load = async <T>(name: string, importer: () => Promise<T>): Promise<T> => {
    try {
      return await importer();
    } catch (error) {
      if (isModuleNotFound(error)) throw new StandInsMissingError(name);
      throw error;
    }
  };
  const sendmux = await load('sandbox/sendmux', () => import('../sandbox/sendmux'));
  const secretsManager = await load('sandbox/secrets-manager', () => import('../sandbox/secrets-manager'));
  return { sendmux, secretsManager };
}
