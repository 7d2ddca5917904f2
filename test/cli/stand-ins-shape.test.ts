import * as sendmux from '../../standins/sendmux';
import * as secretsManager from '../../standins/secrets-manager';
import { loadStandIns, standInPath, type StandIns } from '../../src/cli/stand-ins';

/**
 * src/cli/stand-ins.ts names only the shape `rotator demo` uses, so the production build never
 * compiles standins/. This keeps the shape honest: the real modules must fit it (a compile-time
 * check, run by the suite's typecheck) and be the ones the loader finds by path.
 */
describe('the stand-ins rotator demo loads', () => {
  it('fit the shape the demo is written against', () => {
    const shape: StandIns = { sendmux, secretsManager };
    expect(typeof shape.sendmux.startSendmuxSandbox).toBe('function');
    expect(typeof shape.secretsManager.startSecretsManagerStandIn).toBe('function');
  });

  it('are found by path beside src/ (standins/<name>)', async () => {
    expect(standInPath('sendmux')).toMatch(/[/\\]standins[/\\]sendmux$/);
    const loaded = await loadStandIns();
    expect(loaded.sendmux.DEFAULT_SANDBOX_MANAGEMENT_KEY).toBe(sendmux.DEFAULT_SANDBOX_MANAGEMENT_KEY);
  });
});
