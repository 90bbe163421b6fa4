import assert from 'node:assert/strict';
import { it } from 'node:test';
import { pinoLogger } from './pino';

it('writes one JSON object per line, with level, time, message and fields', () => {
  const lines: string[] = [];
  const logger = pinoLogger('info', (line) => lines.push(line));
  logger.debug('hidden');
  logger.info('listening', { url: 'http://localhost:3000' });
  logger.error('consumer error', { error: new TypeError('boom') });
  assert.equal(lines.length, 2);
  const [info, error] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.equal(info!.level, 'info');
  assert.equal(info!.msg, 'listening');
  assert.equal(info!.url, 'http://localhost:3000');
  assert.match(String(info!.time), /^\d{4}-\d\d-\d\dT/);
  assert.equal((error!.error as { type: string; message: string }).message, 'boom');
  assert.match((error!.error as { stack: string }).stack, /TypeError: boom/);
});
