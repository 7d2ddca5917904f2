import { Webhook } from 'standardwebhooks';

/**
 * Signs webhook messages per the Standard Webhooks spec (https://www.standardwebhooks.com/,
 * `standardwebhooks` library): headers `webhook-id`, `webhook-timestamp` (Unix seconds) and
 * `webhook-signature`, HMAC-SHA256 over "id.timestamp.body". While a secret is being replaced,
 * the message is signed with each secret given and the `v1,<base64>` entries are sent
 * space-separated in one `webhook-signature` header, as the spec allows: a receiver that knows
 * either secret accepts it.
 */
export class WebhookSigner {
  private readonly signers: Webhook[];

  /**
   * @param secrets `whsec_<base64>` secrets, the current one first, then the one being replaced.
   * @param variable the setting the first secret comes from, named in the error (never the value).
   * @throws TypeError when a secret is not a Standard Webhooks secret.
   */
  constructor(secrets: readonly string[], variable: string) {
    if (secrets.length === 0) throw new TypeError(`${variable} is not set: give a Standard Webhooks secret "whsec_" followed by base64`);
    this.signers = secrets.map((secret, i) => {
      try {
        return new Webhook(secret);
      } catch {
        // The library's message could quote the value; ours never does.
        const name = i === 0 ? variable : `${variable}_PREVIOUS`;
        throw new TypeError(`${name} is not a Standard Webhooks secret: give "whsec_" followed by base64`);
      }
    });
  }

  /** How many secrets sign each message (2 while one is being replaced). */
  get secretCount(): number {
    return this.signers.length;
  }

  /** The three Standard Webhooks headers for one try of a message. */
  headers(id: string, at: Date, body: string): Record<string, string> {
    return {
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': this.signers.map((signer) => signer.sign(id, at, body)).join(' '),
    };
  }
}
