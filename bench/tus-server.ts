// The peer stack for the benchmark: @tus/server with @tus/file-store, plus a page that loads
// tus-js-client. Run as its own process (like ours) so CPU and RSS are measured alike.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { Server } from '@tus/server';
import { FileStore } from '@tus/file-store';

const port = Number(process.env.PORT ?? 0);
const directory = process.env.UPLOAD_DIR ?? './tus-uploads';
const require = createRequire(import.meta.url);
const clientScript = require.resolve('tus-js-client/dist/tus.min.js');

const tus = new Server({ path: '/files', datastore: new FileStore({ directory }) });
const page = '<!doctype html><meta charset="utf-8"><title>tus bench</title><script src="/tus.min.js"></script><input type="file" id="bench">';

const server = createServer((req, res) => {
  if (req.url?.startsWith('/files')) {
    void tus.handle(req, res);
  } else if (req.url === '/tus.min.js') {
    void readFile(clientScript).then((body) => res.writeHead(200, { 'content-type': 'text/javascript' }).end(body));
  } else {
    res.writeHead(200, { 'content-type': 'text/html' }).end(page);
  }
});
server.listen(port, '127.0.0.1', () => {
  const address = server.address();
  console.log(`tus listening on http://127.0.0.1:${typeof address === 'object' && address ? address.port : port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
