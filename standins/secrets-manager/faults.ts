import { z } from 'zod';
import { SUPPORTED_OPERATIONS } from './secrets-store';

/**
 * Faults a test can switch on to make the stand-in misbehave like AWS on a bad day.
 * - throttle:          400 ThrottlingException, nothing applied.
 * - internalError:     500 InternalServiceError, nothing applied.
 * - delay:             waits delayMs (default 1000), then answers normally.
 * - applyThenTimeout:  applies the request, then never answers (or answers only after delayMs,
 *                      which a test sets longer than the client's timeout): the "timed out, but
 *                      the write happened" case.
 * - echoRequest:       400 ValidationException whose message quotes the request's SecretString
 *                      (else the whole request), nothing applied: an upstream that echoes a secret.
 * - kms:               400 with the KMS refusal named by `kmsError` (see KMS_ERRORS), nothing
 *                      applied: the secret's KMS key is disabled, pending deletion, or the caller
 *                      may not use it.
 */
export const FAULT_KINDS = ['throttle', 'internalError', 'applyThenTimeout', 'delay', 'echoRequest', 'kms'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/**
 * The errors Secrets Manager answers when KMS refuses it, as AWS names them. DecryptionFailure
 * (GetSecretValue) and EncryptionFailure (PutSecretValue, CreateSecret) are the documented errors
 * of the Secrets Manager API reference, with its wording; `AccessDeniedException` with "Access to
 * KMS is not allowed" is what callers without kms:Decrypt / kms:GenerateDataKey on the key get; the
 * KMS* names are KMS's own exceptions, which Secrets Manager passes through naming the key ARN
 * (KMS API reference: DisabledException "… is disabled", KMSInvalidStateException "… is pending
 * deletion").
 */
export const KMS_ERRORS = [
  'DecryptionFailure',
  'EncryptionFailure',
  'AccessDeniedException',
  'KMSDisabledException',
  'KMSInvalidStateException',
  'KMSAccessDeniedException',
] as const;
export type KmsErrorName = (typeof KMS_ERRORS)[number];

export interface FaultSpec {
  /** An operation name such as 'PutSecretValue', or '*' / omitted for every operation. */
  operation?: string;
  kind: FaultKind;
  /** How many requests to hit; unlimited when omitted. */
  times?: number;
  /** Chance (0 < p <= 1) that a matching request is hit; always when omitted. */
  probability?: number;
  delayMs?: number;
  /** For kind 'kms': which refusal to answer. Default KMSDisabledException. */
  kmsError?: KmsErrorName;
}

export interface StandInFaults {
  /** Adds a rule. Rules are tried in the order they were injected; the first that fires wins. */
  inject(spec: FaultSpec): void;
  /** Removes every rule and resets `injected`. */
  clear(): void;
  /** How many requests each kind of fault has hit since the last clear(). */
  readonly injected: Readonly<Record<FaultKind, number>>;
  /** The rules still armed (times left > 0). */
  readonly active: ReadonlyArray<Readonly<FaultSpec & { remaining: number | null }>>;
}

export interface FiredFault {
  kind: FaultKind;
  delayMs?: number;
  kmsError?: KmsErrorName;
}

const faultSpecSchema = z
  .object({
    operation: z
      .string()
      .refine((value) => value === '*' || (SUPPORTED_OPERATIONS as readonly string[]).includes(value), {
        message: `operation must be '*' or one of ${SUPPORTED_OPERATIONS.join(', ')}`,
      })
      .optional(),
    kind: z.enum(FAULT_KINDS),
    times: z.number().int().positive().optional(),
    probability: z.number().gt(0).lte(1).optional(),
    delayMs: z.number().int().nonnegative().max(600_000).optional(),
    kmsError: z.enum(KMS_ERRORS).optional(),
  })
  .strict()
  .refine((spec) => spec.kmsError === undefined || spec.kind === 'kms', {
    message: "kmsError is only meaningful with kind 'kms'",
    path: ['kmsError'],
  });

interface ArmedRule {
  spec: FaultSpec;
  remaining: number | null;
}

export class FaultPlan implements StandInFaults {
  private rules: ArmedRule[] = [];
  private counts: Record<FaultKind, number> = emptyCounts();

  constructor(private readonly random: () => number = Math.random) {}

  inject(spec: FaultSpec): void {
    const parsed = faultSpecSchema.safeParse(spec);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'fault'}: ${issue.message}`);
      throw new Error(`Invalid fault spec: ${problems.join('; ')}`);
    }
    this.rules.push({ spec: { ...parsed.data }, remaining: parsed.data.times ?? null });
  }

  clear(): void {
    this.rules = [];
    this.counts = emptyCounts();
  }

  get injected(): Readonly<Record<FaultKind, number>> {
    return { ...this.counts };
  }

  get active(): ReadonlyArray<Readonly<FaultSpec & { remaining: number | null }>> {
    return this.rules.map((rule) => ({ ...rule.spec, remaining: rule.remaining }));
  }

  /** Decides whether this request is hit, consuming one use of the rule that fires. */
  take(operation: string): FiredFault | undefined {
    for (const rule of this.rules) {
      const target = rule.spec.operation;
      if (target !== undefined && target !== '*' && target !== operation) continue;
      if (rule.spec.probability !== undefined && this.random() >= rule.spec.probability) continue;
      if (rule.remaining !== null) {
        rule.remaining -= 1;
        if (rule.remaining <= 0) this.rules = this.rules.filter((armed) => armed !== rule);
      }
      this.counts[rule.spec.kind] += 1;
      return {
        kind: rule.spec.kind,
        ...(rule.spec.delayMs !== undefined ? { delayMs: rule.spec.delayMs } : {}),
        ...(rule.spec.kind === 'kms' ? { kmsError: rule.spec.kmsError ?? 'KMSDisabledException' } : {}),
      };
    }
    return undefined;
  }
}

function emptyCounts(): Record<FaultKind, number> {
  return { throttle: 0, internalError: 0, applyThenTimeout: 0, delay: 0, echoRequest: 0, kms: 0 };
}
