import { reloadable, serveNext } from 'next-channels/next';
import type * as Routing from './channels/routing';

void serveNext({
  application: reloadable<typeof Routing>(require.resolve('./channels/routing'), (routing) => routing.application),
});
