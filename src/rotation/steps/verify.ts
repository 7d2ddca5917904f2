import { RotationAbortedError } from '../failures';
import { enterStep, type StepDeps } from './deps';
import type { NewKey, RotationRun } from './types';

/**
 * Step 3: verify. GET /mailbox/me with the new key must answer 200 for this mailbox. Nothing to
 * remember: re-running it is the check. When the key opens another mailbox, that mailbox is kept
 * on the run so the clean-up revokes the key where it actually lives.
 */
export async function verify(deps: StepDeps, run: RotationRun, key: NewKey): Promise<void> {
  const line = enterStep(deps, run, 'verify');
  const me = await deps.sendmux.getMailboxMe(key.secret);
  run.requestIds.verify = me.requestId;
  if (me.data.id !== run.mailboxId) {
    run.keyOpensMailbox = me.data.id;
    throw new RotationAbortedError(
      `GET /mailbox/me with the new key ${key.keyId} answered for mailbox ${me.data.id}, not ${run.mailboxId} ` +
        `(request ${me.requestId ?? '?'}); refusing to promote it`,
    );
  }
  line.info({ keyId: key.keyId, sendmuxRequestId: me.requestId, status: me.status }, 'new key verified');
}
