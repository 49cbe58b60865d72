// The classic resumable-upload file id is `name-size-lastModified`. Header values must be
// visible ASCII, so the name is percent-encoded; plain ASCII names stay as the classic client sends them.

export interface FileLike {
  readonly name: string;
  readonly size: number;
  readonly lastModified: number;
}

export function classicFileId(file: FileLike): string {
  return `${encodeHeaderText(file.name)}-${file.size}-${file.lastModified}`;
}

/** Percent-encodes text so it is a valid header value (RFC 9110 field-value, ASCII only). */
export function encodeHeaderText(text: string): string {
  return encodeURIComponent(text);
}

export function decodeHeaderText(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
