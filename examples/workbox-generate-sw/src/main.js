// The app registers its Workbox-generated worker (sw.js, which importScripts the uploader) with
// workbox-window, and hands that registration to the uploader.
import { createUploader } from 'resilient-upload';
import { Workbox } from 'workbox-window';

const list = document.querySelector('#uploads');
const input = document.querySelector('#file');
const message = document.querySelector('#message');

function render(uploads) {
  list.replaceChildren(
    ...uploads.map((upload) => {
      const li = document.createElement('li');
      li.dataset.uploadId = upload.id;
      li.dataset.state = upload.state;
      li.dataset.offset = String(upload.offset);
      const name = Object.assign(document.createElement('span'), { className: 'name', textContent: upload.name });
      const bar = Object.assign(document.createElement('progress'), { max: upload.size || 1, value: upload.offset });
      li.append(name, ' ', bar, ` ${upload.state}`);
      for (const [label, action, states] of [
        ['Pause', 'pause', ['uploading', 'queued', 'waiting']],
        ['Resume', 'resume', ['paused']],
        ['Retry', 'retry', ['failed']],
      ]) {
        if (!states.includes(upload.state)) continue;
        const button = Object.assign(document.createElement('button'), { textContent: label });
        button.dataset.action = action;
        li.append(' ', button);
      }
      return li;
    }),
  );
}

const wb = new Workbox('/sw.js');
try {
  const uploader = await createUploader({ registration: wb.register() });
  uploader.on('snapshot', ({ uploads }) => render(uploads));
  render(uploader.uploads);
  list.addEventListener('click', (event) => {
    const button = event.target.closest('button[data-action]');
    const id = button?.closest('li')?.dataset.uploadId;
    if (id) uploader[button.dataset.action](id).catch((error) => (message.textContent = error.message));
  });
  input.addEventListener('change', async () => {
    try {
      await uploader.add(input.files ?? []); // resolves once stored, not when uploaded
      input.value = '';
    } catch (error) {
      message.textContent = error.message;
    }
  });
  input.disabled = false;
  document.body.dataset.uploader = 'ready';
} catch (error) {
  message.textContent = `The uploader is not available: ${error.message}`;
  document.body.dataset.uploader = 'failed';
}
