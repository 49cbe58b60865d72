import { describe, expect, it } from 'vitest';
import {
  contentDigestOf,
  isValidFileId,
  parseByteCount,
  parseComplete,
  parseContentDigest,
  formatComplete,
} from '../../src/protocol/wire.js';
import { classicFileId, decodeHeaderText } from '../../src/protocol/file-id.js';

describe('parseByteCount', () => {
  it.each([
    ['0', 0],
    ['1', 1],
    ['1048576', 1048576],
    ['9007199254740991', 2 ** 53 - 1],
  ])('accepts %s', (text, value) => expect(parseByteCount(text)).toBe(value));

  it.each(['', ' 1', '1 ', '+1', '-1', '01', '1e3', '1.0', '0x10', '9007199254740992', '99999999999999999999', 'abc', '١'])(
    'rejects %j',
    (text) => expect(parseByteCount(text)).toBeUndefined(),
  );
});

describe('file ids', () => {
  it('keeps the classic id for plain names and encodes the rest', () => {
    expect(classicFileId({ name: 'photo.jpg', size: 10, lastModified: 5 })).toBe('photo.jpg-10-5');
    const id = classicFileId({ name: 'été ✈ 1.txt', size: 1, lastModified: 2 });
    expect(id).toMatch(/^[\x21-\x7e]+$/);
    expect(decodeHeaderText(id)).toBe('été ✈ 1.txt-1-2');
  });

  it('validates length in UTF-8 bytes', () => {
    expect(isValidFileId('')).toBe(false);
    expect(isValidFileId(undefined)).toBe(false);
    expect(isValidFileId('a'.repeat(1024))).toBe(true);
    expect(isValidFileId('a'.repeat(1025))).toBe(false);
    expect(isValidFileId('é'.repeat(513))).toBe(false);
  });
});

describe('Content-Digest (RFC 9530)', () => {
  it('round-trips the sha-256 of a body', async () => {
    const header = await contentDigestOf(new TextEncoder().encode('hello'));
    expect(header).toBe('sha-256=:LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=:');
    expect(parseContentDigest(header)?.length).toBe(32);
    expect(parseContentDigest(`sha-512=:AAAA:, ${header}`)?.length).toBe(32);
  });

  it.each(['', 'sha-256=abc', 'sha-256=:!!!!:', 'sha-256=:AAAA:', 'md5=:AAAA:'])('rejects %j', (value) =>
    expect(parseContentDigest(value)).toBeUndefined(),
  );
});

describe('X-Upload-Complete', () => {
  it('is an RFC 8941 boolean', () => {
    expect(formatComplete(true)).toBe('?1');
    expect(parseComplete('?1')).toBe(true);
    expect(parseComplete('?0')).toBe(false);
    expect(parseComplete(null)).toBe(false);
  });
});
