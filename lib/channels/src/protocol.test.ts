/**
 * A protocol typed once holds both sides to it: the `@ts-expect-error` lines below fail the
 * type-check (`npm run typecheck`) the day a typo would compile. At run time, the validators.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import type { ChannelSocket } from './client/channel-socket';
import type { Hook } from './consumer';
import type { Frames, SocketProtocol } from './protocol';
import { validateFrame } from './protocol';
import { ProtocolConsumer } from './protocol-consumer';

type Poll = {
  client: Frames<{ vote: { option: 'tea' | 'coffee' }; tally: object }>;
  server: Frames<{ votes: { counts: Record<string, number> } }>;
  replies: { tally: { voters: number } };
};

export class TypedPoll extends ProtocolConsumer<Poll> {
  protected readonly frames = (value: unknown): Poll['client'] | undefined => (value as Poll['client'] | undefined) ?? undefined;
  receiveFrame(frame: Poll['client']): Hook {
    if (frame.type === 'tally') {
      this.replyTo(frame, { voters: 1 });
      // @ts-expect-error: the reply of 'tally' has no field 'voter'
      this.replyTo(frame, { voter: 1 });
      return;
    }
    this.sendFrame({ type: 'votes', counts: { [frame.option]: 1 } });
    // @ts-expect-error: 'vote' is no frame the server sends
    this.sendFrame({ type: 'vote', option: 'tea' });
    // @ts-expect-error: 'votes' has 'counts', not 'count'
    this.sendFrame({ type: 'votes', count: {} });
  }
}

export function typedClient(socket: ChannelSocket<Poll>): void {
  socket.send({ type: 'vote', option: 'tea' });
  // @ts-expect-error: a misspelt frame type
  socket.send({ type: 'vot', option: 'tea' });
  // @ts-expect-error: an option the protocol does not have
  socket.send({ type: 'vote', option: 'cocoa' });
  socket.on('votes', (frame) => frame.counts.tea);
  // @ts-expect-error: the server sends no 'tally' frame
  socket.on('tally', () => {});
  void socket.request({ type: 'tally' }).then((reply) => reply.voters);
}

describe('validateFrame', () => {
  it('takes a Standard Schema (zod here) and names the field that failed', async () => {
    const schema = z.object({ type: z.literal('vote'), option: z.enum(['tea', 'coffee']) });
    assert.deepEqual(await validateFrame(schema, { type: 'vote', option: 'tea' }), { ok: true, value: { type: 'vote', option: 'tea' } });
    const refused = await validateFrame(schema, { type: 'vote', option: 'cocoa' });
    assert.equal(refused.ok, false);
    assert.match(!refused.ok ? refused.detail : '', /^option: /);
  });

  it('takes a function that answers the frame or undefined', () => {
    const guard = (value: unknown): SocketProtocol['client'] | undefined =>
      typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string' ? (value as SocketProtocol['client']) : undefined;
    assert.deepEqual(validateFrame(guard, { type: 'x' }), { ok: true, value: { type: 'x' } });
    assert.equal((validateFrame(guard, 42) as { ok: boolean }).ok, false);
  });
});
