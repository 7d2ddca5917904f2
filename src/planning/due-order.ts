/**
 * The one order `rotator plan` and `rotator status` list mailboxes in: soonest due first (an ISO
 * time; "never due" — null or undefined — last), then by mailbox id, so the two commands read the
 * same way top to bottom. (The /admin/mailboxes page sorts by its `?sort=` instead.)
 */
export function byNextDueThenMailbox<T extends { mailboxId: string }>(dueOf: (entry: T) => string | null | undefined): (a: T, b: T) => number {
  return (a, b) => {
    const [da, db] = [dueOf(a), dueOf(b)];
    const ta = da ? Date.parse(da) : Number.POSITIVE_INFINITY;
    const tb = db ? Date.parse(db) : Number.POSITIVE_INFINITY;
    if (ta !== tb) return ta < tb ? -1 : 1;
    return a.mailboxId < b.mailboxId ? -1 : a.mailboxId > b.mailboxId ? 1 : 0;
  };
}
