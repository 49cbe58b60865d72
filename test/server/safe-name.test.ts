// safeFileName as a table: what X-File-Name becomes in the metadata's safeName.
import { describe, expect, it } from 'vitest';
import { safeFileName } from '../../server/index.js';

describe('safeFileName', () => {
  const cases: Array<[string, string]> = [
    ['holiday photo.jpg', 'holiday photo.jpg'],
    ['Ünïcödé 写真.png', 'Ünïcödé 写真.png'],
    ['../../../etc/passwd', 'passwd'],
    ['..\\..\\boot.ini', 'boot.ini'],
    ['dir/', 'dir'],
    ['report\u0000.pdf', 'report_.pdf'],
    ['a.txt\r\nSet-Cookie: x=1', 'a.txt__Set-Cookie_ x=1'],
    ['invoice\u202Efdp.exe', 'invoicefdp.exe'],
    ['zero\u200Bwidth\uFEFF.txt', 'zerowidth.txt'],
    ['<script>alert(1)</script>.html', 'script_.html'],
    ['what?.txt', 'what_.txt'],
    ['.htaccess', 'htaccess'],
    ['trailing. . ', 'trailing'],
    ['..', 'file'],
    ['', 'file'],
    ['CON.txt', '_CON.txt'],
    ['lpt9', '_lpt9'],
    ['e\u0301.txt', '\u00e9.txt'],
  ];
  it.each(cases)('%j → %j', (name, safe) => {
    expect(safeFileName(name)).toBe(safe);
  });

  it('keeps at most 255 bytes of UTF-8, the extension and whole characters included', () => {
    const safe = safeFileName(`${'ß'.repeat(400)}.tar.gz`);
    expect(Buffer.byteLength(safe)).toBeLessThanOrEqual(255);
    expect(safe.endsWith('ß.gz')).toBe(true);
    expect(safe).not.toContain('\uFFFD');
    expect(safeFileName('x'.repeat(300))).toBe('x'.repeat(255));
  });
});
