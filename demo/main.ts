// The demo PWA: one row per upload, driven only by the uploader's events.
import { createUploader, UploadError, type Uploader, type UploadView } from '../src/index.js';
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

function showNetwork(): void {
  network.dataset.online = String(navigator.onLine);
  network.textContent = navigator.onLine ? 'online' : 'offline';
}

async function showStorage(uploader: Uploader): Promise<void> {
  const s = await uploader.storage();
  const free = s.quota !== undefined && s.usage !== undefined ? `${formatBytes(s.quota - s.usage)} of ${formatBytes(s.quota)} free` : 'quota unknown';
  storageLine.textContent = `Storage is ${s.persisted ? 'persistent' : 'not persistent (the browser may evict it under pressure)'}; ${free}.`;
}

function rowFor(id: string): HTMLLIElement {
  const existing = list.querySelector<HTMLLIElement>(`li[data-upload-id="${CSS.escape(id)}"]`);
  if (existing) return existing;
  const row = (template.content.firstElementChild as HTMLLIElement).cloneNode(true) as HTMLLIElement;
  row.dataset.uploadId = id;
  list.append(row);
  return row;
}

function render(view: UploadView): void {
  const row = rowFor(view.id);
  row.dataset.state = view.state;
  row.dataset.offset = String(view.offset);
  const meter = meters.get(view.id) ?? new RateMeter();
  meters.set(view.id, meter);
  meter.record(view.offset, performance.now());
  (row.querySelector('.name') as HTMLElement).textContent = view.name;
  (row.querySelector('.size') as HTMLElement).textContent = formatBytes(view.size);
  (row.querySelector('.state') as HTMLElement).textContent = view.state;
  const bar = row.querySelector('progress') as HTMLProgressElement;
  bar.max = Math.max(view.size, 1);
  bar.value = view.size === 0 && view.state === 'done' ? 1 : view.offset;
  const rate = view.state === 'uploading' ? meter.rate() : undefined;
  const left = rate ? (view.size - view.offset) / rate : undefined;
  (row.querySelector('.detail') as HTMLElement).textContent =
    `${formatBytes(view.offset)} confirmed` +
    (rate ? ` · ${formatBytes(rate)}/s · ${formatDuration(left ?? 0)} left` : '') +
    (view.state === 'waiting' && view.retryAt ? ` · retrying in ${formatDuration(Math.max(0, view.retryAt - Date.now()) / 1000)}` : '');
  (row.querySelector('.error') as HTMLElement).textContent = view.error && view.state !== 'done' ? view.error.message : '';
}

function renderAll(uploads: readonly UploadView[]): void {
  const ids = new Set(uploads.map((u) => u.id));
  for (const row of list.querySelectorAll<HTMLLIElement>('li[data-upload-id]')) {
    if (!ids.has(row.dataset.uploadId ?? '')) row.remove();
  }
  for (const view of uploads) render(view);
}

async function addFiles(uploader: Uploader, files: FileList | File[]): Promise<void> {
  say(undefined);
  for (const file of Array.from(files)) {
    try {
      await uploader.add(file);
    } catch (error) {
      const reason =
        error instanceof UploadError && error.code === 'QUOTA_EXCEEDED'
          ? `“${file.name}” was not added: the browser does not have enough storage for it (${formatBytes(file.size)}). ${error.message}.`
          : `“${file.name}” was not added: ${error instanceof Error ? error.message : String(error)}`;
      say(reason);
    }
  }
  void showStorage(uploader);
}

/**
 * The page's query string configures the ready-made worker (e.g. `/?digest=0`, see README).
 * Only the worker's own keys pass: any other parameter would change the script URL and
 * install the worker again.
 */
function workerUrl(): string {
  const keys = ['digest', 'concurrency', 'timeoutBaseMs', 'timeoutMinBytesPerSecond'];
  const params = new URLSearchParams([...new URLSearchParams(location.search)].filter(([key]) => keys.includes(key)));
  const query = params.toString();
  return query ? `/sw.js?${query}` : '/sw.js';
}

async function main(): Promise<void> {
  showNetwork();
  addEventListener('online', showNetwork);
  addEventListener('offline', showNetwork);
  let uploader: Uploader;
  try {
    uploader = await createUploader({ serviceWorker: workerUrl(), endpoint: location.origin });
  } catch (error) {
    say(`The uploader could not start: ${error instanceof Error ? error.message : String(error)}`);
    return;
  }
  uploader.on('snapshot', ({ uploads }) => renderAll(uploads));
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
