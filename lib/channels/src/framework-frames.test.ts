import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CloseCode, isFinalCloseCode } from './close-codes';
import type { JsonValue } from './connection';
import { type Responder, WebsocketConsumer } from './consumer';
import { JsonWebsocketConsumer } from './json-consumer';
import { InMemoryChannelLayer } from './layers/in-memory';
import { route, urlRouter } from './routing';
import { WebsocketCommunicator } from './testing/communicator';

async function open(consumer: Parameters<typeof route>[1]): Promise<WebsocketCommunicator> {
  const client = new WebsocketCommunicator(urlRouter([route('/ws/', consumer)]), '/ws/');
  assert.deepEqual(await client.connect(), { accepted: true });
  return client;
}

describe('framework frames', () => {
  it('answers a ping without the consumer seeing it', async () => {
    const seen: string[] = [];
    class Recorder extends WebsocketConsumer {
      override receive(text: string): void {
        seen.push(text);
      }
    }
    const client = await open(Recorder);
    client.sendText('{"$":"ping"}');
    assert.deepEqual(await client.receiveJson(), { $: 'pong' });
    client.sendText('hello');
    await client.disconnect();
    assert.deepEqual(seen, ['hello']);
  });

  it('hands a request frame to receive and sends its reply under the request ref', async () => {
    class Doubler extends JsonWebsocketConsumer {
      receiveJson(content: unknown): void {
        if (typeof content === 'number') this.reply(content * 2);
        else this.replyError('invalid_frame', 'a number, please');
      }
    }
    const client = await open(Doubler);
    client.sendJson({ $: 'req', ref: 'a1', text: '21' });
    assert.deepEqual(await client.receiveJson(), { $: 'reply', ref: 'a1', ok: true, body: 42 });
    client.sendJson({ $: 'req', ref: 'a2', text: '"x"' });
    assert.deepEqual(await client.receiveJson(), { $: 'reply', ref: 'a2', ok: false, code: 'invalid_frame', detail: 'a number, please' });
    await client.disconnect();
  });

  it('answers no_reply when the hook settles without answering, and nothing for a plain frame', async () => {
    class Silent extends WebsocketConsumer {
      override async receive(): Promise<void> {
        await Promise.resolve();
        this.reply('too late for a plain frame');
      }
    }
    const client = await open(Silent);
    client.sendText('plain');
    assert.equal(await client.receiveNothing(), true);
    class Forgetful extends WebsocketConsumer {
      override async receive(): Promise<void> {}
    }
    const other = await open(Forgetful);
    other.sendJson({ $: 'req', ref: 'r', text: 'hi' });
    const reply = await other.receiveJson<{ ok: boolean; code: string }>();
    assert.equal(reply.ok, false);
    assert.equal(reply.code, 'no_reply');
    await client.disconnect();
    await other.disconnect();
  });

  it('lets a consumer answer later, once', async () => {
    let responder: Responder | null = null;
    class Later extends WebsocketConsumer {
      override receive(): void {
        responder = this.replyLater();
      }
    }
    const client = await open(Later);
    client.sendJson({ $: 'req', ref: 'later', text: 'q' });
    assert.equal(await client.receiveNothing(), true);
    const answer: Responder = responder!;
    answer.reply({ done: true } satisfies JsonValue);
    answer.reply('twice');
    assert.deepEqual(await client.receiveJson(), { $: 'reply', ref: 'later', ok: true, body: { done: true } });
    assert.equal(await client.receiveNothing(), true);
    await client.disconnect();
  });

  it('answers malformed and unknown framework frames with an error frame, and stays open', async () => {
    const client = await open(class extends WebsocketConsumer {});
    client.sendText('{"$":"req","ref":"bad ref with spaces","text":"x"}');
    assert.equal((await client.receiveJson<{ $: string; code: string }>()).code, 'bad_frame');
    client.sendText('{"$":"req","ref":"r9"}');
    assert.deepEqual(await client.receiveJson(), { $: 'reply', ref: 'r9', ok: false, code: 'bad_frame', detail: 'a request needs a ref ([A-Za-z0-9_-]{1,32}) and a text' });
    client.sendText('{"$":"ping');
    assert.deepEqual(await client.receiveJson(), { $: 'error', code: 'bad_frame', detail: 'a malformed framework frame' });
    client.sendText('{"$":"subscribe"}');
    assert.equal((await client.receiveJson<{ code: string }>()).code, 'unknown_type');
    client.sendText('{"$":"ping"}');
    assert.deepEqual(await client.receiveJson(), { $: 'pong' });
    await client.disconnect();
  });

  it('holds framework frames to a budget before parsing them', async () => {
    const client = await open(class extends WebsocketConsumer {});
    const codes: string[] = [];
    for (let i = 0; i < 60; i++) client.sendText('{"$":"ping"}');
    for (let i = 0; i < 60; i++) {
      const frame = await client.receiveJson<{ $: string; code?: string }>();
      codes.push(frame.$ === 'pong' ? 'pong' : frame.code!);
    }
    assert.equal(codes.filter((code) => code === 'pong').length, 50);
    assert.equal(codes.filter((code) => code === 'rate_limited').length, 10);
    await client.disconnect();
  });

  it('closes with 1008 a connection that goes on sending framework frames after 50 refusals in a row', async () => {
    const client = await open(class extends WebsocketConsumer {});
    for (let i = 0; i < 100; i++) client.sendText('{"$":"ping"}');
    for (let i = 0; i < 50 + 49; i++) await client.receiveJson();
    assert.equal(await client.receiveClose(), CloseCode.PolicyViolation);
  });

  it('refuses an application frame that would read as a framework one', async () => {
    let refused: unknown = null;
    class Sender extends JsonWebsocketConsumer {
      receiveJson(): void {
        try {
          this.sendJson({ $: 'pong' });
        } catch (error) {
          refused = error;
        }
      }
    }
    const client = await open(Sender);
    client.sendJson({});
    await client.disconnect();
    assert.ok(refused instanceof TypeError);
  });
});

describe('requests in trouble', () => {
  it('answers a request refused by the budget under its ref, so it does not wait out its timeout', async () => {
    class Echo extends WebsocketConsumer {
      override receive(text: string): void {
        this.reply(text);
      }
    }
    const client = await open(Echo);
    for (let i = 0; i < 60; i++) client.sendJson({ $: 'req', ref: `r${i}`, text: `${i}` });
    const replies: Array<{ ref: string; ok: boolean; code?: string }> = [];
    for (let i = 0; i < 60; i++) replies.push(await client.receiveJson());
    assert.deepEqual(replies.filter((reply) => reply.ok).length, 50);
    assert.deepEqual(
      replies.filter((reply) => !reply.ok).map((reply) => [reply.ref, reply.code]),
      Array.from({ length: 10 }, (_, i) => [`r${50 + i}`, 'rate_limited']),
    );
    await client.disconnect();
  });

  it('tells a request whose hook fails before the connection closes with 1011', async () => {
    class Buggy extends WebsocketConsumer {
      override async receive(): Promise<void> {
        await Promise.resolve();
        throw new Error('a bug');
      }
    }
    const client = await open(Buggy);
    client.sendJson({ $: 'req', ref: 'b1', text: 'x' });
    assert.deepEqual(await client.receiveJson(), { $: 'reply', ref: 'b1', ok: false, code: 'internal_error', detail: 'the server failed while handling this request' });
    assert.equal(await client.receiveClose(), CloseCode.InternalError);
  });

  it('lets a layer event handled while a request waits not answer it', async () => {
    type Events = { 'test.poke': object };
    let release: () => void = () => {};
    let poked: () => void = () => {};
    const pokeHandled = new Promise<void>((resolve) => (poked = resolve));
    class Slow extends WebsocketConsumer<Record<string, string>, Events> {
      override readonly groups = ['slow'];
      override async receive(): Promise<void> {
        await new Promise<void>((resolve) => (release = resolve));
        this.reply('from the request');
      }
      'test.poke'(): void {
        this.reply('from a layer event');
        poked();
      }
    }
    const layer = new InMemoryChannelLayer();
    const client = new WebsocketCommunicator(urlRouter([route('/ws/', Slow)]), '/ws/', { layer });
    assert.deepEqual(await client.connect(), { accepted: true });
    client.sendJson({ $: 'req', ref: 'q', text: 'x' });
    await layer.groupSend('slow', { type: 'test.poke' });
    await pokeHandled;
    release();
    assert.deepEqual(await client.receiveJson(), { $: 'reply', ref: 'q', ok: true, body: 'from the request' });
    await client.disconnect();
  });
});

describe('refusals a browser can read', () => {
  it('accepts and closes at once with a 4xxx code given before accept, sending nothing first', async () => {
    class MembersOnly extends WebsocketConsumer {
      override connect(): void {
        this.close(CloseCode.Forbidden, 'not a member');
        this.send('must not be sent');
      }
    }
    const client = new WebsocketCommunicator(urlRouter([route('/ws/', MembersOnly)]), '/ws/');
    assert.deepEqual(await client.connect(), { accepted: true });
    assert.equal(await client.receiveClose(), CloseCode.Forbidden);
  });

  it('refuses the handshake with HTTP 403 for any other code before accept', async () => {
    class Refuser extends WebsocketConsumer {
      override connect(): void {
        this.close(CloseCode.PolicyViolation, 'no');
      }
    }
    const client = new WebsocketCommunicator(urlRouter([route('/ws/', Refuser)]), '/ws/');
    assert.deepEqual(await client.connect(), { accepted: false, status: 403, reason: 'no' });
  });

  it('tells final codes from those worth a retry', () => {
    for (const code of [1000, 1003, 1007, 1008, 1009, 4401, 4403, 4404, 4410, 4499]) assert.equal(isFinalCloseCode(code), true, `${code}`);
    for (const code of [1001, 1006, 1011, 1012, 1013, 4000, 4500, 4999]) assert.equal(isFinalCloseCode(code), false, `${code}`);
  });
});
