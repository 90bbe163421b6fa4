import path from 'node:path';
import { reloadable, serveNext } from 'next-channels/next';
import type * as Routing from './routing';

// Next and the consumers on one HTTP server. In development, a change to routing.ts or channels/
// reloads them in place (open sockets move onto the new code); a change to this file runs it
// again in place, keeping Next.
void serveNext({
  application: reloadable<typeof Routing>(path.join(__dirname, 'routing'), (routing) => routing.application, [
    __filename,
    path.join(__dirname, 'routing.ts'),
    path.join(__dirname, 'channels'),
  ]),
});
