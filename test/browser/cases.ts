// A fault case written once and run in every selected engine. Each run leaves one JSON result
// (engine × case) under test-results/browser/, from which engine-table.ts builds the README table.
// A case an engine cannot do is registered as skipped with the reason in its name and recorded
// as `unsupported` with that reason: never silently left out.
import { it } from 'vitest';
import { selectedEngines, type Capability, type Engine } from '../../lab/engines/index.js';
import { openLab, type Lab, type LabOptions } from './lab.js';
import { recordResult as record, type Facts } from './results.js';

export interface CaseSpec {
  /** Stable id used by the README table (e.g. '4' for "tab closed"). */
  readonly id: string;
  readonly title: string;
  readonly needs?: readonly Capability[];
  readonly lab?: LabOptions;
  /** Longer than the browser project's test timeout, for cases that must wait out real time. */
  readonly timeoutMs?: number;
}

export { selectedEngines };

/** Registers `body` as one test per engine (call inside a `describe` per engine). */
export function faultCase(engine: Engine, spec: CaseSpec, body: (lab: Lab) => Promise<Facts | void>): void {
  const name = `${spec.id}. ${spec.title}`;
  const lacking = (spec.needs ?? []).find((c) => engine.missing[c] !== undefined);
  if (lacking !== undefined) {
    const reason = engine.missing[lacking]!;
    record({ engine: engine.name, version: '', id: spec.id, title: spec.title, status: 'unsupported', reason });
    it.skip(`${name} — not possible in ${engine.name}: ${reason}`, () => undefined);
    return;
  }
  it(name, async () => {
    const started = Date.now();
    const lab = await openLab(engine, spec.lab);
    const base = { engine: engine.name, version: lab.session.version, id: spec.id, title: spec.title };
    try {
      const facts = (await body(lab)) ?? undefined;
      record({ ...base, status: 'passed', durationMs: Date.now() - started, ...(facts ? { facts } : {}) });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      record({ ...base, status: 'failed', reason, durationMs: Date.now() - started });
      const console = lab.session.consoleLines().slice(-30);
      if (error instanceof Error && console.length > 0) error.message += `\n--- ${engine.name} console (last ${console.length}) ---\n${console.join('\n')}`;
      throw error;
    } finally {
      await lab.close();
    }
  }, spec.timeoutMs);
}
