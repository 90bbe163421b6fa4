import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { AllowedOrigins, InMemoryChannelLayer, SessionCookies, silentLogger, urlRouter } from '../../lib/channels';
import { WebsocketCommunicator } from '../../lib/channels/testing';
import { ChatService } from '../../lib/chat/chat-service';
import { installChatRuntime, uninstallChatRuntime } from '../../lib/chat/runtime';
import { MemoryMessageStore } from '../../lib/chat/store/memory';
import { counterRoute } from './counter-consumer';
import { POST } from './reset-route';

after(() => uninstallChatRuntime());

it('reaches the consumers through the live layer', async () => {
  const layer = new InMemoryChannelLayer();
  // What server.ts does at start, so that route handlers find the live layer.
  installChatRuntime({
    service: new ChatService({ store: new MemoryMessageStore(), layer, logger: silentLogger }),
    layer,
    sessions: new SessionCookies({ secret: 'guide-test-secret-0123456789abcdef' }),
    allowedOrigins: new AllowedOrigins(['*']),
    adminToken: null,
  });
  const watcher = new WebsocketCommunicator(urlRouter([counterRoute]), '/ws/counter/reset-me/', { layer });
  await watcher.connect();
  await watcher.receiveJson();
  watcher.sendJson({ type: 'increment' });
  assert.deepEqual(await watcher.receiveJson(), { type: 'count', value: 1 });

  const response = await POST(new Request('http://localhost/api/counters/reset-me/reset', { method: 'POST' }), {
    params: Promise.resolve({ name: 'reset-me' }),
  });
  assert.equal(response.status, 204);
  assert.deepEqual(await watcher.receiveJson(), { type: 'count', value: 0 });
});
