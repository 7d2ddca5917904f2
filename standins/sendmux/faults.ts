import { z } from 'zod';
import { SANDBOX_OPERATIONS } from './types';
import type { FaultKind, FaultRule, SandboxFaults, SandboxOperation } from './types';

export const FAULT_KINDS = [
  'status500',
  'status503',
  'status429',
  'drop',
  'commitThenDrop',
  'delay',
  'nullCredential',
  'html502',
  'okFalse200',
  'hugeBody',
  'wrongMailboxMe',
] as const satisfies readonly FaultKind[];

/** Faults that replace the response before any work is done (nothing stored, nothing cached). */
export const BEFORE_WORK_FAULTS: readonly FaultKind[] = [
  'status500',
  'status503',
  'status429',
  'drop',
  'html502',
  'okFalse200',
  'hugeBody',
];
/** Faults that let the work happen and then spoil the delivery of its response. */
export const AFTER_WORK_FAULTS: readonly FaultKind[] = ['delay', 'commitThenDrop'];

export const faultRuleSchema = z
  .object({
    operation: z.enum([...(SANDBOX_OPERATIONS as [SandboxOperation, ...SandboxOperation[]]), '*']).optional(),
    kind: z.enum(FAULT_KINDS),
    retryAfterSeconds: z.number().int().min(0).optional(),
    // Any header-safe text, so tests can send what a hostile or broken server would.
    retryAfter: z.string().max(8192).regex(/^[\x20-\x7e]*$/).optional(),
    delayMs: z.number().int().min(0).max(600_000).optional(),
    times: z.number().int().min(1).optional(),
    probability: z.number().min(0).max(1).optional(),
    mailboxId: z.string().min(1).optional(),
  })
  .strict();

interface ActiveRule {
  rule: FaultRule;
  remaining: number;
}

/**
 * Fault rules switched on by tests (directly or over the admin API). Each request takes at most
 * one rule per phase: the first matching rule, in the order they were injected, that fires.
 */
export class FaultController implements SandboxFaults {
  readonly injected: Record<string, number> = {};
  private rules: ActiveRule[] = [];

  constructor(private readonly random: () => number = Math.random) {}

  inject(rule: FaultRule): void {
    const parsed = faultRuleSchema.safeParse(rule);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.') || 'rule'}: ${i.message}`).join('; ');
      throw new TypeError(`invalid fault rule (${issues})`);
    }
    this.rules.push({ rule: parsed.data, remaining: parsed.data.times ?? 1 });
  }

  clear(): void {
    this.rules = [];
  }

  /** Rules still waiting to fire (probability rules stay until cleared). */
  get pending(): FaultRule[] {
    return this.rules.map((active) => ({ ...active.rule }));
  }

  take(operation: SandboxOperation, mailboxId: string | undefined, kinds: readonly FaultKind[]): FaultRule | undefined {
    for (const active of this.rules) {
      const { rule } = active;
      if (!kinds.includes(rule.kind)) continue;
      if (rule.operation !== undefined && rule.operation !== '*' && rule.operation !== operation) continue;
      if (rule.kind === 'nullCredential' && operation !== 'mintMailboxKey') continue;
      if (rule.kind === 'wrongMailboxMe' && operation !== 'getMailboxMe') continue;
      if (rule.mailboxId !== undefined && rule.mailboxId !== mailboxId) continue;
      if (rule.probability !== undefined) {
        if (this.random() >= rule.probability) continue;
      } else {
        active.remaining -= 1;
        if (active.remaining <= 0) this.rules = this.rules.filter((r) => r !== active);
      }
      this.injected[rule.kind] = (this.injected[rule.kind] ?? 0) + 1;
      return rule;
    }
    return undefined;
  }
}
