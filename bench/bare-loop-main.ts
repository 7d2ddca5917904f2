/**
 * The bare loop as its own long-lived process (so its CPU is measured like a worker's, and it
 * warms up like a worker does), built from the same environment and settings as a rotator
 * worker: `node dist/bench/bare-loop-main.js <config.yaml> <mailbox count>`. Each line
 * `rotate <slot>` on standard input rotates every mailbox once and prints one JSON line:
 * {"slot": …, "wallMs": …, "rotations": …}. It exits when standard input closes.
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import pino from 'pino';
import { parseSettings, renderSecretName } from '../src/config';
import { SendmuxClient } from '../src/sendmux/client';
import { SecretStore } from '../src/aws/secret-store';
import { createSecretsManagerClient } from '../src/aws/secrets-manager-client';
import { demoMailboxes } from '../standins/sendmux/env';
import { bareRotateAll } from './bare-loop';

async function main(): Promise<void> {
  const [configPath, countText] = process.argv.slice(2);
  if (!configPath || !countText) throw new Error('usage: bare-loop-main.js <config.yaml> <mailbox count>');
  const settings = parseSettings(readFileSync(configPath, 'utf8'), process.env, configPath);
  const { env, file } = settings;
  const silent = pino({ level: 'silent' });
  const smClient = createSecretsManagerClient({ region: env.awsRegion ?? 'us-east-1', requestTimeoutMs: file.sendmux.timeoutMs });
  const managementKey = env.sendmuxApiKey;
  if (!managementKey) throw new Error('bare loop: set SENDMUX_API_KEY');
  const deps = {
    sendmux: new SendmuxClient({ baseUrl: env.sendmuxApiUrl, managementKey, timeoutMs: file.sendmux.timeoutMs, logger: silent }),
    secrets: new SecretStore({ client: smClient, logger: silent }),
    secretNameFor: (mailboxId: string) => renderSecretName(file.secretName, mailboxId),
    appNamePrefix: file.rotation.appNamePrefix,
  };
  const mailboxIds = demoMailboxes(Number(countText)).map((m) => m.id);
  process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
  for await (const line of createInterface({ input: process.stdin })) {
    const slot = /^rotate (\S+)$/.exec(line.trim())?.[1];
    if (!slot) throw new Error(`bare loop: expected "rotate <slot>", got "${line}"`);
    const wallMs = await bareRotateAll(deps, mailboxIds, slot, file.rotation.concurrency);
    process.stdout.write(`${JSON.stringify({ slot, wallMs, rotations: mailboxIds.length })}\n`);
  }
  smClient.destroy();
}

// A clean exit on SIGTERM, so a --cpu-prof run writes its profile.
process.on('SIGTERM', () => process.exit(0));

main().catch((err: unknown) => {
  process.stderr.write(`bare loop failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
