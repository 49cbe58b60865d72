// The page-side of the Uppy test: Uppy with @uppy/tus uploading the picked file, bundled for the
// browser by the test (vite), exposed on window for page.evaluate.
import Uppy from '@uppy/core';
import Tus from '@uppy/tus';

async function uploadWithUppy(endpoint: string): Promise<{ successful: number; failed: string[]; url: string | undefined }> {
  const input = document.querySelector<HTMLInputElement>('#file');
  const file = input?.files?.[0];
  if (file === undefined) throw new Error('no file picked');
  const uppy = new Uppy({ autoProceed: false }).use(Tus, { endpoint, chunkSize: 1024 * 1024, retryDelays: [0, 200, 500, 1000, 2000] });
  uppy.addFile({ name: file.name, type: file.type, data: file });
  const result = await uppy.upload();
  return {
    successful: result?.successful?.length ?? 0,
    failed: (result?.failed ?? []).map((f) => String(f.error)),
    url: result?.successful?.[0]?.tus?.uploadUrl ?? undefined,
  };
}

Object.assign(window, { uploadWithUppy });
