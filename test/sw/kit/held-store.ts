// A memory store whose `add` waits, while `hold` is set, until the test lets it finish or fail:
// what happens while a file is still being stored, step by step.
import type { UploadRecord } from '../../../sw/record.js';
import { MemoryRecordStore } from '../../../sw/memory-record-store.js';

export class HeldStore extends MemoryRecordStore {
  hold = true;
  readonly #gates: Array<(failure: Error | undefined) => void> = [];

  /** How many adds wait for the test. */
  get waiting(): number {
    return this.#gates.length;
  }

  finishAdd(failure?: Error): void {
    const gate = this.#gates.shift();
    if (gate === undefined) throw new Error('no add is waiting');
    gate(failure);
  }

  override async add(record: UploadRecord, file: Blob): Promise<UploadRecord> {
    if (this.hold) {
      const failure = await new Promise<Error | undefined>((resolve) => this.#gates.push(resolve));
      if (failure !== undefined) throw failure;
    }
    return super.add(record, file);
  }
}
