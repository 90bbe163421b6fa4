import assert from 'node:assert/strict';
import { it } from 'node:test';
import { jsonLogger } from './logger';

it('writes one JSON object per line at or above its level, errors with their stack', () => {
  const lines: string[] = [];
  const logger = jsonLogger('info', (line) => lines.push(line));
  logger.debug('hidden');
  logger.info('listening', { url: 'http://localhost:3000' });
  logger.error('consumer error', { error: new TypeError('boom') });
  assert.equal(lines.length, 2);
  assert.ok(lines.every((line) => line.endsWith('\n')));
  const [info, error] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.equal(info!.level, 'info');
  assert.equal(info!.msg, 'listening');
  assert.equal(info!.url, 'http://localhost:3000');
  assert.match(String(info!.time), /^\d{4}-\d\d-\d\dT/);
  assert.equal((error!.error as { message: string }).message, 'boom');
  assert.match((error!.error as { stack: string }).stack, /TypeError: boom/);
});

it('survives fields it cannot serialise', () => {
  const lines: string[] = [];
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  jsonLogger('info', (line) => lines.push(line)).info('odd', { cyclic, big: 10n });
  assert.equal(lines.length, 1);
  assert.equal((JSON.parse(lines[0]!) as { level: string }).level, 'error');
});
