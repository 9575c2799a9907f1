// The baseline of npm run bench: a bare Fastify process that answers GET /v1/lookup with the bytes
// in the file BENCH_BODY_FILE, nothing else (no logging, no hooks). Plain JavaScript run by plain
// node, like the service's dist/server.js, so neither side pays for a loader the other does not.
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';

const body = readFileSync(process.env.BENCH_BODY_FILE, 'utf8');
const app = Fastify({ logger: false });
app.get('/v1/lookup', async (_request, reply) => reply.type('application/json; charset=utf-8').send(body));
await app.listen({ host: process.env.HOST ?? '127.0.0.1', port: Number(process.env.PORT) });
process.stdout.write('listening\n');
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
