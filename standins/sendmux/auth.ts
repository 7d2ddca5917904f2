import { SandboxApiError } from './envelope';
import type { SandboxState } from './state';
import type { KeyRecord, SandboxOperation } from './types';

export type Principal =
  | { kind: 'management'; key: string; canManage: boolean }
  | { kind: 'mailbox'; key: KeyRecord };

export interface Keyring {
  managementKeys: ReadonlySet<string>;
  readOnlyManagementKeys: ReadonlySet<string>;
}

const MANAGE_OPERATIONS: readonly SandboxOperation[] = ['mintMailboxKey', 'revokeMailboxKey'];

/** Who presented the Authorization header: a root key, a live mailbox key, or nobody known. */
export function identifyCaller(authorization: string | undefined, keyring: Keyring, state: SandboxState): Principal | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  const token = match?.[1];
  if (token === undefined) return undefined;
  if (keyring.managementKeys.has(token)) return { kind: 'management', key: token, canManage: true };
  if (keyring.readOnlyManagementKeys.has(token)) return { kind: 'management', key: token, canManage: false };
  const key = state.keyBySecret(token);
  return key && key.status === 'live' ? { kind: 'mailbox', key } : undefined;
}

/**
 * Decides who may call what, as the vendor does: root keys (mailbox.admin.read, and
 * mailbox.admin.manage unless read-only) for management routes; a live mailbox key of an active
 * mailbox for /mailbox/me. Error messages never repeat the presented key.
 */
export function authorize(operation: SandboxOperation, principal: Principal | undefined, state: SandboxState): Principal {
  if (operation === 'getMailboxMe') {
    if (principal?.kind === 'management') {
      throw new SandboxApiError(403, 'insufficient_permissions', 'Root keys cannot call mailbox-scoped endpoints; use a mailbox key.');
    }
    const mailbox = principal ? state.mailboxes.get(principal.key.mailboxId) : undefined;
    if (!principal || !mailbox || mailbox.status !== 'active') {
      throw new SandboxApiError(401, 'authentication_required', 'A valid mailbox key is required (Authorization: Bearer smx_mbx_...).');
    }
    return principal;
  }
  if (!principal) {
    throw new SandboxApiError(401, 'authentication_required', 'A valid root API key is required (Authorization: Bearer smx_root_...).');
  }
  if (principal.kind === 'mailbox') {
    throw new SandboxApiError(403, 'insufficient_permissions', 'Mailbox keys cannot call management endpoints; use a root API key.');
  }
  if (MANAGE_OPERATIONS.includes(operation) && !principal.canManage) {
    throw new SandboxApiError(403, 'insufficient_permissions', 'This root key lacks the mailbox.admin.manage permission.');
  }
  return principal;
}
