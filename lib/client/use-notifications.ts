import { useEffect, useState, useSyncExternalStore } from 'react';
import { NotificationClient, type ShownNotification } from './notification-client';

const NONE: readonly ShownNotification[] = [];

/** Dispatched on `window` after the display name changed: notifications follow the new name. */
export const SESSION_CHANGED_EVENT = 'chat:session-changed';

/** The notifications URL on the page's own host. */
export function notificationSocketUrl(location: Pick<Location, 'protocol' | 'host'>): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws/notifications/`;
}

/**
 * This person's notifications, pushed from anywhere in the app: the latest few, and a way to
 * dismiss one. One socket per component; it survives re-renders and StrictMode.
 */
export function useNotifications(): {
  readonly notifications: readonly ShownNotification[];
  readonly dismiss: (key: number) => void;
  /** Whether notifications are arriving now (the socket is open). */
  readonly connected: boolean;
} {
  const [client] = useState(() => new NotificationClient({ url: () => notificationSocketUrl(window.location) }));
  const notifications = useSyncExternalStore(client.subscribe, client.getSnapshot, () => NONE);
  const connected = useSyncExternalStore(client.subscribeConnected, client.getConnected, () => false);
  useEffect(() => {
    client.connect();
    const reconnect = (): void => client.reconnect();
    window.addEventListener(SESSION_CHANGED_EVENT, reconnect);
    return () => {
      window.removeEventListener(SESSION_CHANGED_EVENT, reconnect);
      client.close();
    };
  }, [client]);
  const [dismiss] = useState(() => (key: number) => client.dismiss(key));
  return { notifications, dismiss, connected };
}
