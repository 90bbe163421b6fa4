'use client';

import Link from 'next/link';
import { type ReactNode, useEffect } from 'react';
import { mentionParts, type ShownNotification, useNotifications } from '@/lib/client';
import { type Messages } from '../_i18n/messages';
import { useI18n } from '../_i18n/i18n';
import { Isolated } from '../_i18n/isolated';

const SHOWN_MS = 10_000;

/** Notifications for this person (mentions, messages from the app), as toasts in a corner. */
export function Toasts() {
  const { notifications, dismiss, connected } = useNotifications();
  const { t } = useI18n();
  return (
    <section className="toasts" aria-label={t.toasts.label} aria-live="polite" data-connected={connected}>
      {notifications.map((notification) => (
        <Toast key={notification.key} notification={notification} dismiss={dismiss} />
      ))}
    </section>
  );
}

function Toast({ notification, dismiss }: { readonly notification: ShownNotification; readonly dismiss: (key: number) => void }) {
  const { t } = useI18n();
  useEffect(() => {
    const timer = setTimeout(() => dismiss(notification.key), SHOWN_MS);
    return () => clearTimeout(timer);
  }, [dismiss, notification.key]);
  return (
    <div className="toast" role="status" data-kind={notification.kind}>
      <p className="toast-title">
        {notification.room ? <Link href={toastHref(notification.room, notification.message_id)}>{toastTitle(notification, t)}</Link> : toastTitle(notification, t)}
      </p>
      {notification.body && <p className="toast-body">{notification.body}</p>}
      <button type="button" className="toast-dismiss" aria-label={t.toasts.dismiss} onClick={() => dismiss(notification.key)}>
        ×
      </button>
    </div>
  );
}

/** A mention in the reader's language, the names isolated; anything else as the server titled it. */
function toastTitle(notification: ShownNotification, t: Messages): ReactNode {
  const mention = mentionParts(notification);
  if (!mention) return notification.title;
  switch (mention.roomKind) {
    case 'public':
      return <Isolated message={t.toasts.mentionPublic} values={[mention.from, mention.room]} />;
    case 'private':
      return <Isolated message={t.toasts.mentionPrivate} values={[mention.from, mention.title]} />;
    case 'direct':
      return <Isolated message={t.toasts.mentionDirect} values={[mention.from]} />;
  }
}

/** Where a toast leads: its room, opened at its message when it names one (as a search result opens). */
function toastHref(room: string, messageId: string | undefined): string {
  return messageId === undefined ? `/chat/${room}/` : `/chat/${room}/?at=${encodeURIComponent(messageId)}`;
}
