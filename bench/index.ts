// `npm run bench [server|browser|resend|profile|speed|s3]`: every benchmark, or one, printing ratios measured in one run.
import { runServerBench } from './server-bench.js';
import { runBrowserBench } from './browser-bench.js';
import { runResendBench } from './resend-bench.js';
import { runEngineProfile } from './engine-profile.js';
import { runSpeedBench } from './speed-bench.js';
import { runS3Bench } from './s3-bench.js';

const only = process.argv[2];
const all = { server: runServerBench, resend: runResendBench, browser: runBrowserBench, profile: runEngineProfile, speed: runSpeedBench, s3: runS3Bench } as const;

console.log(`resilient-upload benchmarks · node ${process.version} · ${new Date().toISOString()}`);
for (const [name, run] of Object.entries(all)) {
  if (only && only !== name) continue;
  await run();
}
