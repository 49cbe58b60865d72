// The React binding on a server (no window, no navigator): it renders, connects nothing, and the
// page's first render matches the server's.
import { createElement, type ReactElement } from 'react';
import { renderToString } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { UploaderProvider, useUploader, useUploads } from '../../src/react/index.js';

function List(): ReactElement {
  const { status } = useUploader();
  const uploads = useUploads();
  return createElement('p', { 'data-status': status }, `${uploads.length} uploads`);
}

describe('React binding under server-side rendering', () => {
  it('renders with react-dom/server, calls nothing of the browser, and the default create is never run', () => {
    expect(typeof window).toBe('undefined');
    let created = 0;
    const html = renderToString(
      createElement(
        UploaderProvider,
        {
          create: async () => {
            created += 1;
            throw new Error('must not run on a server');
          },
        },
        createElement(List),
      ),
    );
    expect(html).toBe('<p data-status="connecting">0 uploads</p>');
    expect(created).toBe(0);
  });

  it('the default provider (createUploader of the app worker) renders on a server too', () => {
    const html = renderToString(createElement(UploaderProvider, { options: { endpoint: '/files' } }, createElement(List)));
    expect(html).toContain('0 uploads');
  });

  it('a hook outside the provider says what is missing', () => {
    expect(() => renderToString(createElement(List))).toThrow('useUploader() needs an <UploaderProvider> above it');
  });
});
