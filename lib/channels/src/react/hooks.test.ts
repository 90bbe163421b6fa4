import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createElement, StrictMode } from 'react';
import { renderToString } from 'react-dom/server';
import { sharedSocket, useLatest, usePresence, useSocket } from './index';
import type { Frames } from '../protocol';

type Counter = { client: Frames<{ increment: object }>; server: Frames<{ count: { value: number } }> };

describe('the React hooks', () => {
  it('render on the server as connecting, with nothing yet, and open no socket there', () => {
    let made = 0;
    const path = 'ws://example.test/ws/ssr/';
    function Counter() {
      const { status, socket } = useSocket<Counter>(path, {
        createSocket: () => {
          made++;
          throw new Error('no socket on the server');
        },
      });
      const count = useLatest(socket, 'count');
      const here = usePresence(socket, 'counter');
      return createElement('p', null, `${status} ${count?.value ?? '…'} ${here.length}`);
    }
    assert.equal(renderToString(createElement(StrictMode, null, createElement(Counter))), '<p>connecting … 0</p>');
    assert.equal(made, 0);
  });

  it('keep no socket on the server, where every page render is someone else', () => {
    assert.notEqual(sharedSocket<Counter>('ws://example.test/ws/shared/'), sharedSocket<Counter>('ws://example.test/ws/shared/'));
  });

  it('give every component of a page that asks for a path the same socket, and forget closed ones no one holds', () => {
    const globals = globalThis as { window?: unknown };
    globals.window = globalThis;
    try {
      const first = sharedSocket<Counter>('ws://example.test/ws/shared/');
      assert.equal(sharedSocket<Counter>('ws://example.test/ws/shared/', { pingAfterMs: 1 }), first);
      assert.notEqual(sharedSocket<Counter>('ws://example.test/ws/other/'), first);
      // Nobody holds the first (closed: never opened): a new path makes way for it to be forgotten.
      sharedSocket<Counter>('ws://example.test/ws/third/');
      assert.notEqual(sharedSocket<Counter>('ws://example.test/ws/shared/'), first);
    } finally {
      delete globals.window;
    }
  });
});
