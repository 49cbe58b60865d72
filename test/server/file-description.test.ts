// What a client said about its file travels through any storage as the upload's `name`.
import { describe, expect, it } from 'vitest';
import { completionMetadata, describeFile, readDescription, type FileDescription } from '../../server/storage.js';

describe('describeFile / readDescription', () => {
  it.each<[string, FileDescription]>([
    ['nothing', {}],
    ['a plain name', { name: 'photo.jpg' }],
    ['a name that starts with the marker', { name: '\u0000{"type":"x"}' }],
    ['name and type', { name: 'a.pdf', type: 'application/pdf' }],
    ['every field', { name: 'a', type: 't', fields: { filename: 'a', 'k e y': 'v,al' } }],
  ])('round-trips %s', (_what, d) => {
    expect(readDescription(describeFile(d))).toEqual(d);
  });

  it('a plain name is stored as itself (what status/slice always stored)', () => {
    expect(describeFile({ name: 'x.bin' })).toBe('x.bin');
    expect(readDescription('x.bin')).toEqual({ name: 'x.bin' });
  });

  it('a stored name that only looks like a description reads as that name', () => {
    expect(readDescription('\u0000not json')).toEqual({ name: '\u0000not json' });
  });

  it('completion metadata carries the description: name, safeName, type, fields', () => {
    const m = completionMetadata({
      ref: { namespace: '', id: 'i' },
      size: 1,
      name: describeFile({ name: '../x.txt', type: 'text/plain', fields: { album: 'a' } }),
      createdAt: 'c',
      completedAt: 'd',
    });
    expect(m).toEqual({ id: 'i', namespace: '', size: 1, name: '../x.txt', safeName: 'x.txt', type: 'text/plain', fields: { album: 'a' }, createdAt: 'c', completedAt: 'd' });
  });
});
