// The real server in a process of its own, configured by a test through the environment (see
// server-process.ts), so client and server do not share an event loop and the server can be killed.
//   RU_OPTIONS    JSON of StartServerOptions (plain values only)
//   RU_AUTHORIZE  'header': the Authorization header names the namespace; none → 401, 'banned' → 403
//   RU_HOOK_LOG   onComplete appends one JSON line { id, namespace, size } per call to this file
//   RU_HOOK_DIE   '1': the process SIGKILLs itself inside onComplete, after logging the call
import { appendFileSync } from 'node:fs';
import { UploadServerError, startServer, type StartServerOptions } from '../../server/index.js';

const options = JSON.parse(process.env['RU_OPTIONS'] ?? '{}') as StartServerOptions;
const hookLog = process.env['RU_HOOK_LOG'];
const running = await startServer({
  ...options,
  ...(process.env['RU_AUTHORIZE'] === 'header'
    ? {
        authorize: (req) => {
          const user = req.headers['authorization'];
          if (!user) throw new UploadServerError('UNAUTHORIZED', 'log in first');
          if (user === 'banned') throw new UploadServerError('FORBIDDEN', 'banned');
          return user;
        },
      }
    : {}),
  ...(hookLog === undefined
    ? {}
    : {
        onComplete: ({ metadata }) => {
          appendFileSync(hookLog, JSON.stringify({ id: metadata.id, namespace: metadata.namespace, size: metadata.size }) + '\n');
          if (process.env['RU_HOOK_DIE'] === '1') process.kill(process.pid, 'SIGKILL');
        },
      }),
});
console.log(`test server listening on ${running.url}`);
process.on('SIGTERM', () => void running.close().then(() => process.exit(0)));
