// A file name an application can use (save to disk, put in Content-Disposition, show in a list)
// derived from the untrusted X-File-Name, which the metadata keeps exactly as sent.

/** C0 and C1 controls and DEL: CR/LF inject headers, NUL truncates paths in C APIs. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/gu;
/**
 * Invisible formatting: bidi embeddings, overrides and isolates ("invoice\u202Efdp.exe" shows as
 * "invoiceexe.pdf"), zero-width characters, the BOM.
 */
const INVISIBLE = /[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/gu;
/** Reserved on Windows and FAT; `<` and `>` also keep the name inert in markup. */
const RESERVED = /[<>:"|?*]/g;
/** Device names Windows refuses as file names, with any extension. */
const DEVICE = /^(con|prn|aux|nul|com[1-9]|lpt[1-9])(\..*)?$/i;
/** Most file systems allow 255 bytes per name. */
const MAX_BYTES = 255;
const MAX_EXTENSION_BYTES = 32;

/**
 * `name` reduced to a safe base name: the last path segment, controls replaced by `_`, invisible
 * formatting removed, Windows-reserved characters replaced by `_`, no leading dots, no trailing
 * dots or spaces, not a device name, at most 255 bytes of UTF-8 (the extension kept). Never empty:
 * `file` when nothing is left.
 */
export function safeFileName(name: string): string {
  const segments = name.normalize('NFC').split(/[/\\]/).filter((s) => s !== '');
  let out = (segments.at(-1) ?? '')
    .replace(CONTROL, '_')
    .replace(INVISIBLE, '')
    .replace(RESERVED, '_')
    .replace(/^[.\s]+/u, '')
    .replace(/[.\s]+$/u, '');
  if (DEVICE.test(out)) out = `_${out}`;
  out = truncateUtf8(out, MAX_BYTES);
  return out === '' ? 'file' : out;
}

function truncateUtf8(name: string, maxBytes: number): string {
  if (utf8Bytes(name) <= maxBytes) return name;
  const dot = name.lastIndexOf('.');
  const ext = dot > 0 && utf8Bytes(name.slice(dot)) <= MAX_EXTENSION_BYTES ? name.slice(dot) : '';
  let stem = '';
  let used = utf8Bytes(ext);
  // By code point, so a character is never cut in half.
  for (const ch of name.slice(0, name.length - ext.length)) {
    const n = utf8Bytes(ch);
    if (used + n > maxBytes) break;
    stem += ch;
    used += n;
  }
  return stem.replace(/[.\s]+$/u, '') + ext;
}

function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}
