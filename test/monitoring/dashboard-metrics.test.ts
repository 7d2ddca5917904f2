import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { bearer, postJson, startHarness, waitForJobState, type HttpHarness } from '../http/support/http-harness';

/**
 * The Grafana dashboard and the alert rules in config/ only name metrics the rotator really
 * exports: every metric in every panel's and rule's expression is in a live /metrics answer.
 */
const root = path.resolve(__dirname, '../..');
const dashboard = JSON.parse(readFileSync(path.join(root, 'config/grafana/rotator-dashboard.json'), 'utf8')) as {
  uid: string;
  title: string;
  __inputs: Array<{ name: string; type: string; pluginId: string }>;
  panels: Array<{ id: number; title: string; type: string; datasource?: { uid: string }; gridPos: Record<string, number>; targets: Array<{ refId: string; expr: string; datasource?: { uid: string } }> }>;
};
const rules = parseYaml(readFileSync(path.join(root, 'config/prometheus/rotator-alerts.yml'), 'utf8')) as {
  groups: Array<{ rules: Array<{ alert: string; expr: string }> }>;
};

/** Metric names in a PromQL expression: our own and Node's process metrics. */
function metricsIn(expr: string): string[] {
  return [...new Set(expr.match(/\b(?:rotator|process|nodejs)_[a-zA-Z0-9_:]*/g) ?? [])];
}

/** Every series name a /metrics answer can produce, from its TYPE lines (histograms add _bucket/_sum/_count). */
function exportedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const match of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name, type] = match as unknown as [string, string, string];
    names.add(name);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name}${suffix}`);
    if (type === 'summary') for (const suffix of ['_sum', '_count']) names.add(`${name}${suffix}`);
  }
  return names;
}

const panelExpressions = dashboard.panels.flatMap((panel) => panel.targets.map((target) => ({ where: `panel "${panel.title}" ${target.refId}`, expr: target.expr })));
const ruleExpressions = rules.groups.flatMap((group) => group.rules.map((rule) => ({ where: `alert ${rule.alert}`, expr: rule.expr })));

describe('the Grafana dashboard JSON', () => {
  it('is importable: uid, title, a Prometheus datasource input, and panels with unique ids and a place on the grid', () => {
    expect(dashboard.uid).toBe('sendmux-rotator');
    expect(dashboard.title).toBeTruthy();
    expect(dashboard.__inputs).toEqual([expect.objectContaining({ name: 'DS_PROMETHEUS', type: 'datasource', pluginId: 'prometheus' })]);
    const ids = dashboard.panels.map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of dashboard.panels) {
      expect(Object.keys(panel.gridPos).sort()).toEqual(['h', 'w', 'x', 'y']);
      expect(panel.datasource?.uid).toBe('${DS_PROMETHEUS}');
      expect(panel.targets.length).toBeGreaterThan(0);
    }
  });

  it('has a metric in every panel expression', () => {
    for (const { where, expr } of panelExpressions) expect([where, metricsIn(expr).length > 0]).toEqual([where, true]);
  });
});

describe('fleet-sized monitoring', () => {
  it.each([...panelExpressions, ...ruleExpressions].map(({ where, expr }) => [where, expr]))('%s needs no per-mailbox series', (_where, expr) => {
    expect(expr).not.toMatch(/\bmailbox\b/);
  });
});

describe('metrics named by the dashboard and the alert rules', () => {
  let harness: HttpHarness;
  let exported: Set<string>;

  beforeAll(async () => {
    // maxKeyAge set, so rotator_max_key_age_seconds is exported as in a deployment that uses it.
    // overview: the alert counters are wired, as in the service.
    harness = await startHarness({ label: 'monitoring-metrics', overview: true, config: { maxKeyAge: '30d' } });
    const response = await postJson(`${harness.url}/rotations`, { mailboxIds: [harness.bed.mailboxIds[0]] });
    const jobId = ((await response.json()) as { rotations: Array<{ jobId: string }> }).rotations[0]!.jobId;
    await waitForJobState(harness, jobId, 'completed');
    const metrics = await fetch(`${harness.url}/metrics`, { headers: bearer() });
    expect(metrics.status).toBe(200);
    exported = exportedNames(await metrics.text());
  });
  afterAll(async () => {
    await harness?.close();
  });

  it.each([...panelExpressions, ...ruleExpressions].map(({ where, expr }) => [where, expr]))('%s names only exported metrics', (_where, expr) => {
    const missing = metricsIn(expr).filter((name) => !exported.has(name));
    expect(missing).toEqual([]);
  });
});
