import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BodyRefused, declaresMoreThan, isJsonContentType, readJsonBody } from './json-body';

/** A body that yields `chunk` forever, counting how many chunks were pulled from it. */
function endless(chunk: Uint8Array): { stream: ReadableStream<Uint8Array>; pulled: () => number } {
  let pulled = 0;
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        pulled++;
        controller.enqueue(chunk);
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, pulled: () => pulled };
}

const post = (body: BodyInit | null, headers: Record<string, string>): Request =>
  new Request('http://localhost/api/x', { method: 'POST', body, headers, duplex: 'half' } as RequestInit);

async function refusal(request: Request, maxBytes: number): Promise<BodyRefused> {
  const error = await readJsonBody(request, maxBytes).then(
    () => assert.fail('the body was accepted'),
    (error: unknown) => error,
  );
  assert.ok(error instanceof BodyRefused, String(error));
  return error;
}

describe('readJsonBody', () => {
  it('parses application/json, with or without parameters, in any case', async () => {
    for (const type of ['application/json', 'application/json; charset=utf-8', 'Application/JSON;charset=UTF-8', ' application/json ']) {
      assert.deepEqual(await readJsonBody(post('{"name":"小明"}', { 'content-type': type }), 100), { name: '小明' }, type);
    }
  });

  it('refuses every other content type with 415, reading nothing', async () => {
    for (const type of [
      'text/plain',
      'text/plain;charset=UTF-8',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/jsonp',
      'application/json-seq',
      'application/ld+json',
      '',
    ]) {
      const { stream, pulled } = endless(new Uint8Array(10));
      const error = await refusal(post(stream, type ? { 'content-type': type } : {}), 100);
      assert.deepEqual([error.status, error.code], [415, 'unsupported_media_type'], type);
      assert.equal(pulled(), 0, type);
    }
  });

  it('refuses a declared Content-Length over the cap with 413 before reading', async () => {
    const { stream, pulled } = endless(new Uint8Array(10));
    const error = await refusal(post(stream, { 'content-type': 'application/json', 'content-length': '101' }), 100);
    assert.deepEqual([error.status, error.code], [413, 'too_large']);
    assert.equal(pulled(), 0);
  });

  it('stops reading a body of unknown length at the first chunk past the cap', async () => {
    const { stream, pulled } = endless(new TextEncoder().encode('[[[[[[[[[['));
    const error = await refusal(post(stream, { 'content-type': 'application/json' }), 95);
    assert.deepEqual([error.status, error.code], [413, 'too_large']);
    assert.equal(pulled(), 10, '100 bytes read: the first 10-byte chunk past 95');
  });

  it('takes a body of exactly the cap', async () => {
    const body = JSON.stringify({ name: 'x'.repeat(89) });
    assert.equal(body.length, 100);
    assert.deepEqual(await readJsonBody(post(body, { 'content-type': 'application/json' }), 100), { name: 'x'.repeat(89) });
    await refusal(post(body, { 'content-type': 'application/json' }), 99);
  });

  it('refuses invalid UTF-8 and text that is not JSON with 400 bad_json', async () => {
    for (const body of [Uint8Array.from([0x7b, 0xc3, 0x28, 0x7d]), new TextEncoder().encode('{"name":'), new Uint8Array(0)]) {
      const error = await refusal(post(body, { 'content-type': 'application/json' }), 100);
      assert.deepEqual([error.status, error.code], [400, 'bad_json']);
    }
  });
});

describe('declaresMoreThan', () => {
  it('compares a Content-Length with the cap; an unreadable one is over it, a missing one is not', () => {
    assert.equal(declaresMoreThan(undefined, 10), false);
    assert.equal(declaresMoreThan(null, 10), false);
    assert.equal(declaresMoreThan('10', 10), false);
    assert.equal(declaresMoreThan('11', 10), true);
    assert.equal(declaresMoreThan('99999999999999999999999', 10), true);
    assert.equal(declaresMoreThan('-1', 10), true);
    assert.equal(declaresMoreThan('1e3', 10), true);
  });
});

describe('isJsonContentType', () => {
  it('takes application/json and its parameters only', () => {
    assert.equal(isJsonContentType('application/json;charset=utf-8'), true);
    assert.equal(isJsonContentType('application/jsonx'), false);
    assert.equal(isJsonContentType(null), false);
  });
});
