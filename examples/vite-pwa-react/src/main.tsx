import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { UploaderProvider } from 'resilient-upload/react';
import { App } from './App';

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    {/* No options: the uploader uses the worker the app registers (navigator.serviceWorker.ready)
        and uploads to the worker's origin. */}
    <UploaderProvider>
      <App />
    </UploaderProvider>
  </StrictMode>,
);
