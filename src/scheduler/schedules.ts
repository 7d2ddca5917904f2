import type { RotatorFileConfig } from '../config';

/**
 * The name of the file's top-level `schedule`. Parentheses cannot appear in a group name, so no
 * group can be mistaken for it.
 */
export const DEFAULT_SCHEDULE_NAME = '(default)';

/** One cron schedule the scheduler runs: the file's default one, or a group's. */
export interface RotationSchedule {
  name: string;
  cron: string;
  timezone: string;
}

/** The default schedule first, then each group in file order (the order in which groups claim mailboxes). */
export function schedulesOf(file: Pick<RotatorFileConfig, 'schedule' | 'timezone' | 'groups'>): RotationSchedule[] {
  return [
    { name: DEFAULT_SCHEDULE_NAME, cron: file.schedule, timezone: file.timezone },
    ...file.groups.map(
      (group): RotationSchedule => ({
        name: group.name,
        cron: group.schedule,
        // A group without its own time zone reads its cron in the file's.
        timezone: group.timezone ?? file.timezone,
      }),
    ),
  ];
}
