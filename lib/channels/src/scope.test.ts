import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createScope } from './scope';

const client = { address: '127.0.0.1', port: 1234 };

describe('createScope', () => {
  it('splits the path from the query, and decodes the query', () => {
    const scope = createScope('/ws/chat/lobby/?after=42&name=%E4%BD%A0%E5%A5%BD', {}, client);
    assert.equal(scope.path, '/ws/chat/lobby/');
    assert.equal(scope.query.get('after'), '42');
    assert.equal(scope.query.get('name'), '你好');
    assert.equal(scope.query.size, 2);
  });

  it('gives a read-only query, with or without a query string', () => {
    for (const url of ['/ws/chat/', '/ws/chat/?', '/ws/chat/?after=1']) {
      const query = createScope(url, {}, client).query as URLSearchParams;
      for (const change of [() => query.append('x', '1'), () => query.set('x', '1'), () => query.delete('after'), () => query.sort()]) {
        assert.throws(change, TypeError, url);
      }
      assert.equal(query.get('x'), null);
    }
    assert.equal(createScope('/ws/chat/', {}, client).query.size, 0);
  });

  it('keeps the transport parameter from the consumer, and the query read-only', () => {
    const scope = createScope('/ws/chat/lobby/?after=42&_channels=sse', {}, client);
    assert.equal(scope.query.get('_channels'), null);
    assert.equal(scope.query.get('after'), '42');
    assert.equal(scope.query.size, 1);
    assert.throws(() => (scope.query as URLSearchParams).set('x', '1'), TypeError);
    assert.equal(createScope('/ws/chat/?_channels=sse', {}, client).query.size, 0);
  });
});
