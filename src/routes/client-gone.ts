import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * Runs work with a signal that aborts when the client goes away before its answer is sent, so a
 * client that leaves cancels its share of the work (a shared computation stops when nobody waits).
 */
export async function untilClientLeaves<T>(request: FastifyRequest, reply: FastifyReply, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const gone = new AbortController();
  const onClose = () => {
    if (!reply.sent) gone.abort(new Error('client disconnected'));
  };
  request.raw.once('close', onClose);
  reply.raw.once('close', onClose);
  try {
    return await work(gone.signal);
  } finally {
    request.raw.removeListener('close', onClose);
    reply.raw.removeListener('close', onClose);
  }
}
