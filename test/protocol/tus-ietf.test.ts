// The value syntax of tus and the IETF draft, as tables.
import { describe, expect, it } from 'vitest';
import { formatTusMetadata, parseTusList, parseTusMetadata, parseUploadChecksum } from '../../src/protocol/tus.js';
import { formatContentDisposition, formatUploadLimit, parseContentDisposition, parseSfBoolean, parseSfInteger, parseUploadLimit } from '../../src/protocol/ietf.js';

describe('tus Upload-Metadata', () => {
  it.each([
    ['filename d29ybGRfZG9taW5hdGlvbl9wbGFuLnBkZg==,is_confidential', { filename: 'world_domination_plan.pdf', is_confidential: '' }],
    ['', {}],
    [' a YQ== , b  ', { a: 'a', b: '' }],
    ['n w6k=', { n: 'é' }],
    ['bin /w==', { bin: '\u00ff' }],
  ])('%j → %j', (header, pairs) => {
    expect(Object.fromEntries(parseTusMetadata(header)!)).toEqual(pairs);
  });

  it.each([['a YQ==,a YQ=='], [',a YQ=='], ['a !!'], ['a YQ'], ['a YQ== b']])('%j is malformed', (header) => {
    expect(parseTusMetadata(header)).toBeUndefined();
  });

  it('formats what it parses', () => {
    const pairs = { filename: 'résumé.pdf', empty: '', filetype: 'application/pdf' };
    expect(Object.fromEntries(parseTusMetadata(formatTusMetadata(pairs))!)).toEqual(pairs);
    expect(formatTusMetadata({ empty: '' })).toBe('empty');
  });

  it('lists and checksums', () => {
    expect(parseTusList(' creation, checksum ,,termination')).toEqual(['creation', 'checksum', 'termination']);
    expect(parseTusList(null)).toEqual([]);
    expect(parseUploadChecksum('sha1 Kq5sNclPz7QV2+lfQIuc6R7oRu0=')?.algorithm).toBe('sha1');
    expect(parseUploadChecksum('SHA1 Kq5sNclPz7QV2+lfQIuc6R7oRu0=')).toBeUndefined();
    expect(parseUploadChecksum('sha1')).toBeUndefined();
  });
});

describe('IETF draft Structured Fields', () => {
  it.each([
    ['0', 0],
    ['42', 42],
    [' 7 ', 7],
    ['5;a=1', 5],
    ['-1', undefined],
    ['1.5', undefined],
    ['1e3', undefined],
    ['1234567890123456', undefined],
    [undefined, undefined],
  ])('Integer %j → %j', (value, n) => {
    expect(parseSfInteger(value)).toBe(n);
  });

  it.each([
    ['?1', true],
    ['?0', false],
    ['?1;x', true],
    ['1', undefined],
    ['true', undefined],
  ])('Boolean %j → %j', (value, b) => {
    expect(parseSfBoolean(value)).toBe(b);
  });

  it.each([
    ['max-size=1000, max-age=60', { 'max-size': 1000, 'max-age': 60 }],
    ['min-size=0', { 'min-size': 0 }],
    ['max-size=10, future-key="x"', { 'max-size': 10 }],
    ['max-size="10"', undefined],
    ['max-size=-1', undefined],
  ])('Upload-Limit %j → %j', (value, limit) => {
    expect(parseUploadLimit(value)).toEqual(limit);
  });

  it('formats Upload-Limit; none at all is min-size=0', () => {
    expect(formatUploadLimit({ 'max-size': 5, 'max-age': 9 })).toBe('max-size=5, max-age=9');
    expect(formatUploadLimit({})).toBe('min-size=0');
  });

  it.each([
    ['inline; filename="file name.jpg"; filename*=UTF-8\'\'file%20name.jpg', 'file name.jpg'],
    ["inline; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf", 'résumé.pdf'],
    ['inline; filename="a \\"b\\".txt"', 'a "b".txt'],
    ['inline; filename=plain.txt', 'plain.txt'],
    ['inline', undefined],
  ])('Content-Disposition %j → %j', (value, name) => {
    expect(parseContentDisposition(value)).toBe(name);
  });

  it('formats Content-Disposition so it parses back', () => {
    for (const name of ['résumé (1).pdf', 'a"b\\c.txt', "it's.txt"]) expect(parseContentDisposition(formatContentDisposition(name))).toBe(name);
  });
});
