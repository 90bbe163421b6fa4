import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WebsocketConsumer } from '../consumer';
import { route, urlRouter } from '../routing';
import { WebsocketCommunicator } from '../testing/communicator';
import { AllowedOrigins, originValidator } from './origin';

class Open extends WebsocketConsumer {}

async function status(allowed: AllowedOrigins, headers: Record<string, string>): Promise<number> {
  const app = originValidator(urlRouter([route('/ws/', Open)]), allowed);
  const outcome = await new WebsocketCommunicator(app, '/ws/', { headers }).connect();
  return outcome.accepted ? 101 : outcome.status;
}

describe('originValidator', () => {
  const local = AllowedOrigins.localDefaults(3000);
  const site = AllowedOrigins.localDefaults(3000, 'https://chat.example.com');

  it('lets in this machine on the configured port, by name and by address, when there is no public URL', async () => {
    for (const origin of ['http://localhost:3000', 'http://127.0.0.1:3000', 'http://[::1]:3000']) {
      assert.equal(await status(local, { origin }), 101, origin);
    }
  });

  it('lets in only the public URL when there is one: not this machine', async () => {
    for (const origin of ['https://chat.example.com', 'HTTPS://CHAT.example.com:443']) assert.equal(await status(site, { origin }), 101, origin);
    for (const origin of ['http://localhost:3000', 'http://127.0.0.1:3000', 'http://[::1]:3000']) assert.equal(await status(site, { origin }), 403, origin);
  });

  it('refuses a missing, null or foreign Origin with 403 before the handshake', async () => {
    assert.equal(await status(local, {}), 403);
    assert.equal(await status(local, { origin: 'null' }), 403);
    assert.equal(await status(local, { origin: 'http://evil.example' }), 403);
    assert.equal(await status(local, { origin: 'not a url' }), 403);
  });

  it('refuses look-alikes: another port, scheme or a host that only starts the same', async () => {
    for (const origin of ['http://localhost:3001', 'https://localhost:3000', 'http://localhost:3000.evil.example']) {
      assert.equal(await status(local, { origin }), 403, origin);
    }
    for (const origin of ['https://chat.example.com.evil.example', 'http://chat.example.com', 'https://chat.example.com:8443']) {
      assert.equal(await status(site, { origin }), 403, origin);
    }
  });

  it('ignores the Host header, so DNS rebinding does not get in', async () => {
    assert.equal(await status(local, { origin: 'http://rebind.example:3000', host: 'rebind.example:3000' }), 403);
  });

  it('lets everything in, a missing Origin too, under *', async () => {
    const any = new AllowedOrigins(['*']);
    assert.equal(await status(any, {}), 101);
    assert.equal(await status(any, { origin: 'http://anything.example' }), 101);
  });

  it('answers an Origin seen before the same way, however many others came between', () => {
    for (let round = 0; round < 2; round++) {
      assert.equal(local.allows('http://localhost:3000'), true);
      assert.equal(local.allows('http://evil.example'), false);
      for (let other = 0; other < 300; other++) assert.equal(local.allows(`http://other-${other}.example`), false);
    }
  });

  it('rejects a configured entry that is not an origin, naming it', () => {
    assert.throws(() => new AllowedOrigins(['localhost:3000']), /not an origin: "localhost:3000"/);
    assert.throws(() => new AllowedOrigins(['file:///tmp']), /not an origin/);
  });
});
