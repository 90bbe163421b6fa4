/**
 * A TCP proxy that can delay what it carries, for the fault tests (this kernel has no `netem`):
 * run as its own process inside a namespace, `node --import tsx delay-proxy.ts <listen host>
 * <listen port> <target host> <target port>`. It prints `{"listening":true}` once it accepts
 * connections; each line `{"delayMs": n}` on its standard input sets the delay, answered
 * `{"delayMs": n}` once in force. Every chunk, both ways, is passed on `delayMs` after it
 * arrived, in order; at 0 it is passed on at once (after any still held).
 */
import { createServer, connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';

const [listenHost, listenPort, targetHost, targetPort] = process.argv.slice(2);
if (!listenHost || !listenPort || !targetHost || !targetPort) {
  process.stderr.write('usage: delay-proxy.ts <listen host> <listen port> <target host> <target port>\n');
  process.exit(2);
}

let delayMs = 0;

/** Passes what `from` sends on to `to`, each chunk `delayMs` after it came, in order; an end after the data before it. */
function relay(from: Socket, to: Socket): void {
  const held: Array<{ readonly due: number; readonly chunk: Buffer | null }> = [];
  let timer: NodeJS.Timeout | null = null;
  const pass = (chunk: Buffer | null): void => {
    if (to.destroyed) return;
    if (chunk === null) to.end();
    else to.write(chunk);
  };
  const release = (): void => {
    timer = null;
    const now = Date.now();
    while (held.length > 0 && held[0]!.due <= now) pass(held.shift()!.chunk);
    if (held.length > 0) timer = setTimeout(release, held[0]!.due - now);
  };
  const hold = (chunk: Buffer | null): void => {
    if (delayMs === 0 && held.length === 0) {
      pass(chunk);
      return;
    }
    held.push({ due: Date.now() + delayMs, chunk });
    if (timer === null) timer = setTimeout(release, Math.max(0, held[0]!.due - Date.now()));
  };
  from.on('data', (chunk: Buffer) => hold(chunk));
  from.on('end', () => hold(null));
  to.on('close', () => {
    if (timer !== null) clearTimeout(timer);
    held.length = 0;
  });
}

const server = createServer({ allowHalfOpen: true }, (client) => {
  const upstream = connect({ host: targetHost, port: Number(targetPort), allowHalfOpen: true });
  client.setNoDelay(true);
  upstream.setNoDelay(true);
  relay(client, upstream);
  relay(upstream, client);
  // A reset on one side is passed on as a reset; a clean end goes through `relay`, in order.
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
});

server.listen(Number(listenPort), listenHost, () => process.stdout.write(`${JSON.stringify({ listening: true })}\n`));

createInterface({ input: process.stdin }).on('line', (line) => {
  const asked = (JSON.parse(line) as { delayMs?: unknown }).delayMs;
  if (typeof asked !== 'number' || !(asked >= 0)) {
    process.stderr.write(`bad command: ${line}\n`);
    return;
  }
  delayMs = asked;
  process.stdout.write(`${JSON.stringify({ delayMs })}\n`);
});
process.stdin.on('end', () => process.exit(0));
