import { useState } from 'react';
import { useUploader, useUploads } from 'resilient-upload/react';
import { useRegisterSW } from 'virtual:pwa-register/react';

export function App() {
  const { status, error, add } = useUploader();
  const uploads = useUploads();
  const [message, setMessage] = useState('');
  // vite-plugin-pwa registers src/sw.ts; the uploader finds it through navigator.serviceWorker.ready.
  const {
    needRefresh: [needRefresh],
    updateServiceWorker,
  } = useRegisterSW({ immediate: true });

  return (
    <main data-uploader={status}>
      <h1>Uploads</h1>
      {error && <p role="alert">The uploader is not available: {error.message}</p>}
      {needRefresh && (
        <p>
          A new version is ready. <button id="update" onClick={() => void updateServiceWorker()}>Update</button>
        </p>
      )}
      <input
        id="file"
        type="file"
        multiple
        disabled={status !== 'ready'}
        onChange={(e) => {
          const input = e.currentTarget;
          add(input.files ?? []).then(
            () => (input.value = ''),
            (reason: unknown) => setMessage(String(reason)),
          );
        }}
      />
      {message && <p role="status">{message}</p>}
      <ul id="uploads">
        {uploads.map((upload) => (
          <li key={upload.id} data-upload-id={upload.id} data-state={upload.state} data-offset={upload.offset}>
            <span className="name">{upload.name}</span> <progress max={1} value={upload.progress} /> {upload.state}
            {(upload.state === 'queued' || upload.state === 'uploading' || upload.state === 'waiting') && (
              <button onClick={() => void upload.pause()}>Pause</button>
            )}
            {upload.state === 'paused' && <button onClick={() => void upload.resume()}>Resume</button>}
            {upload.state === 'failed' && <button onClick={() => void upload.retry()}>Retry</button>}
            {upload.state !== 'done' && upload.state !== 'cancelled' && <button onClick={() => void upload.cancel()}>Cancel</button>}
            {upload.error && upload.state !== 'done' && <span className="error"> {upload.error.message}</span>}
          </li>
        ))}
      </ul>
    </main>
  );
}
