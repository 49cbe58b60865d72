// The demo PWA: one row per upload, driven only by the uploader's events.
import { createUploader, RECOVERY, UploadError, type ErrorInfo, type Uploader, type UploadView } from '../src/index.js';
import { WORKER_QUERY_KEYS } from '../src/protocol/worker-settings.js';
import { formatBytes, formatDuration, RateMeter } from './format.js';

const $ = <T extends Element>(selector: string): T => {
  const el = document.querySelector<T>(selector);
  if (!el) throw new Error(`missing ${selector}`);
  return el;
};

const list = $<HTMLUListElement>('#uploads');
const template = $<HTMLTemplateElement>('#row');
const message = $<HTMLParagraphElement>('#message');
const network = $<HTMLSpanElement>('#network');
const storageLine = $<HTMLParagraphElement>('#storage');
const picker = $<HTMLInputElement>('#file');
const drop = $<HTMLLabelElement>('#drop');
const meters = new Map<string, RateMeter>();

function say(text: string | undefined): void {
  message.hidden = !text;
  message.textContent = text ?? '';
}

/** Codes that mean the server could not be reached or did not answer. */
const UNREACHABLE = new Set(['NETWORK', 'TIMEOUT']);

/**
 * The badge tells three things apart: the browser offline; online, but the upload server cannot
 * be reached (every upload that tried lately failed to reach it); online and reaching it.
 */
function showNetwork(uploads: readonly UploadView[] = []): void {
  const unreachable = navigator.onLine && uploads.some((u) => u.state === 'waiting' && u.error !== undefined && UNREACHABLE.has(u.error.code));
  const status = !navigator.onLine ? 'offline' : unreachable ? 'unreachable' : 'online';
  setData(network, 'online', String(status === 'online'));
  setData(network, 'status', status);
  setText(network, status === 'unreachable' ? 'online · server unreachable' : status);
}

async function showStorage(uploader: Uploader): Promise<void> {
  const s = await uploader.storage();
  const free = s.quota !== undefined && s.usage !== undefined ? `${formatBytes(s.quota - s.usage)} of ${formatBytes(s.quota)} free` : 'quota unknown';
  storageLine.textContent = `Storage is ${s.persisted ? 'persistent' : 'not persistent (the browser may evict it under pressure)'}; ${free}.`;
}

/** A row's parts, found once: a render touches them many times a second. */
interface Row {
  readonly li: HTMLLIElement;
  readonly name: HTMLElement;
  readonly size: HTMLElement;
  readonly state: HTMLElement;
  readonly bar: HTMLProgressElement;
  readonly detail: HTMLElement;
  readonly error: HTMLElement;
}

const rows = new Map<string, Row>();

function rowFor(id: string): Row {
  const existing = rows.get(id);
  if (existing) return existing;
  const li = (template.content.firstElementChild as HTMLLIElement).cloneNode(true) as HTMLLIElement;
  li.dataset.uploadId = id;
  const part = <T extends HTMLElement>(selector: string): T => li.querySelector(selector) as T;
  const row: Row = { li, name: part('.name'), size: part('.size'), state: part('.state'), bar: part('progress'), detail: part('.detail'), error: part('.error') };
  rows.set(id, row);
  list.append(li);
  return row;
}

// Only what changed is written: rewriting an unchanged text or attribute still costs the page
// style, layout and paint, on the thread that also carries the uploads' bytes.
function setText(el: HTMLElement, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}

function setData(el: HTMLElement, key: string, value: string): void {
  if (el.dataset[key] !== value) el.dataset[key] = value;
}

function render(view: UploadView): void {
  const row = rowFor(view.id);
  const meter = meters.get(view.id) ?? new RateMeter();
  meters.set(view.id, meter);
  // A new phase (started again after waiting, say) measures afresh.
  if (row.li.dataset.state !== view.state) meter.reset();
  setData(row.li, 'state', view.state);
  setData(row.li, 'offset', String(view.offset));
  // Bytes on their way (a page-assisted upload reports them): ahead of what the server confirmed.
  setData(row.li, 'sent', String(view.sent ?? view.offset));
  meter.record(view.sent ?? view.offset, performance.now());
  setText(row.name, view.name);
  setText(row.size, formatBytes(view.size));
  setText(row.state, view.state);
  const max = Math.max(view.size, 1);
  if (row.bar.max !== max) row.bar.max = max;
  const value = view.size === 0 && view.state === 'done' ? 1 : view.offset;
  if (row.bar.value !== value) row.bar.value = value;
  const now = performance.now();
  // Speed and time left only while bytes move: a rate from before a stall would be a lie.
  const stalled = view.state === 'uploading' && meter.idleFor(now) >= STALL_MS;
  const rate = view.state === 'uploading' && !stalled ? meter.rate() : undefined;
  const left = rate ? (view.size - (view.sent ?? view.offset)) / rate : undefined;
  setText(
    row.detail,
    (view.sent !== undefined && view.sent > view.offset ? `${formatBytes(view.sent)} sent · ` : '') +
      `${formatBytes(view.offset)} confirmed` +
      (rate ? ` · ${formatBytes(rate)}/s · ${formatDuration(left ?? 0)} left` : '') +
      (stalled ? ` · stalled for ${formatDuration(meter.idleFor(now) / 1000)}` : '') +
      (view.state === 'waiting' && view.retryAt ? ` · retrying in ${formatDuration(Math.max(0, view.retryAt - Date.now()) / 1000)}` : '') +
      (view.state === 'waiting' && view.error && RECOVERY[view.error.code] === 'needs-credentials' ? ' · waiting for new credentials' : ''),
  );
  setData(row.li, 'stalled', String(stalled));
  // An error is shown only while it is current: waiting on it, or failed by it.
  const current = view.error !== undefined && (view.state === 'waiting' || view.state === 'failed');
  setText(row.error, current ? errorText(view.error!) : '');
}

/** The error's message, and the platform's own exception when the message does not already say it. */
function errorText(error: ErrorInfo): string {
  const cause = error.cause;
  if (cause === undefined || error.message.includes(cause.message)) return error.message;
  return `${error.message} (${cause.name}: ${cause.message})`;
}

/** Nothing confirmed for this long while uploading: say so instead of showing a stale speed. */
const STALL_MS = 3_000;

function renderAll(uploads: readonly UploadView[]): void {
  showNetwork(uploads);
  const ids = new Set(uploads.map((u) => u.id));
  for (const [id, row] of rows) {
    if (ids.has(id)) continue;
    row.li.remove();
    rows.delete(id);
    meters.delete(id);
  }
  for (const view of uploads) render(view);
}

/** Progress alone re-renders at most this often; a row added, gone or in a new state at once. */
const PROGRESS_RENDER_MS = 100;

/**
 * Renders a snapshot: at once when a row appears, goes or changes state (what people, and the
 * tests, wait for); otherwise at most every PROGRESS_RENDER_MS, with the newest snapshot. Every
 * upload's progress arrives up to ten times a second, and a page sending the bytes itself has
 * no time to spare on redrawing every row for each.
 */
function renderer(uploader: Uploader): (uploads: readonly UploadView[]) => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let renderedAt = -Infinity;
  const now = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    renderedAt = performance.now();
    renderAll(uploader.uploads);
  };
  return (uploads) => {
    const reshaped = uploads.length !== rows.size || uploads.some((u) => rows.get(u.id)?.li.dataset.state !== u.state);
    const wait = renderedAt + PROGRESS_RENDER_MS - performance.now();
    if (reshaped || wait <= 0) now();
    else timer ??= setTimeout(now, wait);
  };
}

async function addFiles(uploader: Uploader, files: FileList | File[]): Promise<void> {
  say(undefined);
  try {
    // All in one call: each upload starts while the files before it are still being stored.
    await uploader.add(files);
  } catch (error) {
    const quota = error instanceof UploadError && error.code === 'QUOTA_EXCEEDED' ? ' (the browser does not have enough storage for it)' : '';
    say(`${error instanceof Error ? error.message : String(error)}${quota}.`);
  }
  void showStorage(uploader);
}

/**
 * The page's query string configures the ready-made worker (e.g. `/?digest=0`, see README).
 * Only the worker's own keys pass: any other parameter would change the script URL and
 * install the worker again.
 */
function workerUrl(): string {
  const keys: readonly string[] = WORKER_QUERY_KEYS;
  const params = new URLSearchParams([...new URLSearchParams(location.search)].filter(([key]) => keys.includes(key)));
  const query = params.toString();
  return query ? `/resilient-upload-sw.js?${query}` : '/resilient-upload-sw.js';
}

async function main(): Promise<void> {
  showNetwork();
  addEventListener('online', () => showNetwork());
  addEventListener('offline', () => showNetwork());
  let uploader: Uploader;
  try {
    // `?assist=0`: the worker uploads alone, as when no tab is open (the page carries no bytes).
    const pageAssist = new URLSearchParams(location.search).get('assist') !== '0';
    // No endpoint here: the worker's (its origin, or `?endpoint=` with `?protocol=`) applies.
    uploader = await createUploader({ serviceWorker: workerUrl(), pageAssist });
  } catch (error) {
    say(`The uploader could not start: ${error instanceof Error ? error.message : String(error)}`);
    return;
  }
  const show = renderer(uploader);
  uploader.on('snapshot', ({ uploads }) => show(uploads));
  addEventListener('online', () => renderAll(uploader.uploads));
  addEventListener('offline', () => renderAll(uploader.uploads));
  uploader.on('complete', () => void showStorage(uploader));
  renderAll(uploader.uploads);
  void showStorage(uploader);
  document.body.dataset.ready = 'true';

  picker.addEventListener('change', () => {
    if (picker.files) void addFiles(uploader, picker.files).then(() => (picker.value = ''));
  });
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    if (e.dataTransfer?.files) void addFiles(uploader, e.dataTransfer.files);
  });
  list.addEventListener('click', (e) => {
    const button = (e.target as Element).closest<HTMLButtonElement>('button[data-action]');
    const id = button?.closest<HTMLLIElement>('li[data-upload-id]')?.dataset.uploadId;
    if (!button || !id) return;
    const action = button.dataset.action as 'pause' | 'resume' | 'retry' | 'cancel';
    uploader[action](id).catch((error: unknown) => say(error instanceof Error ? error.message : String(error)));
  });
  $<HTMLButtonElement>('#clear-completed').addEventListener('click', () => void uploader.clearCompleted());
  // Speed and time left go stale between events; refresh them twice a second.
  setInterval(() => renderAll(uploader.uploads), 500);
}

void main();
