// Which React the binding's tests ran with: 19 in the unit project, 18 in the react18 project
// (its aliases must reach the binding, the tests and react-dom alike, or hooks would break).
import { version } from 'react';
import { version as domVersion } from 'react-dom';
import { version as serverVersion } from 'react-dom/server';
import { describe, expect, inject, it } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    reactMajor: number;
  }
}

describe('the React under test', () => {
  it('is the major version this project asked for, for react, react-dom and react-dom/server alike', () => {
    const major = inject('reactMajor');
    expect(Number(version.split('.')[0])).toBe(major);
    expect(domVersion).toBe(version);
    expect(serverVersion).toBe(version);
  });
});
