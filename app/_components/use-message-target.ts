import { useEffect, useLayoutEffect, useRef } from 'react';
import { type ChatMessageFrame, HISTORY_PAGE_SIZE, isMessageId } from '@/lib/chat/protocol';
import type { ChatSocket, ConnectionStatus } from '@/lib/client';

/** Older pages loaded at most while looking for a message. */
export const MAX_TARGET_PAGES = 50;
/** The log holds at most this many messages when the search stops: the first page and `MAX_TARGET_PAGES` more. */
export const MAX_TARGET_MESSAGES = (MAX_TARGET_PAGES + 1) * HISTORY_PAGE_SIZE;

/** What to do next to show a message: wait for a page, ask for an older one, or stop. */
export type TargetStep = 'wait' | 'load' | 'found' | 'missing';

export interface TargetView {
  readonly status: ConnectionStatus;
  readonly messages: readonly Pick<ChatMessageFrame, 'id'>[];
  readonly hasMore: boolean;
  readonly loadingOlder: boolean;
  readonly historyLoaded: boolean;
}

/**
 * The next step towards showing message `target` in the log: found once it is among the
 * messages; missing when it cannot come (a bad id; an id newer than the oldest shown yet absent,
 * as a message deleted and dropped; no older pages; `maxMessages` loaded already, the bound of
 * pages); else load an older page, or wait for the one asked for (or the first).
 */
export function targetStep(view: TargetView, target: string, maxMessages: number = MAX_TARGET_MESSAGES): TargetStep {
  if (!isMessageId(target)) return 'missing';
  if (view.messages.some((message) => message.id === target)) return 'found';
  if (!view.historyLoaded) return view.status === 'closed' ? 'missing' : 'wait';
  const oldest = view.messages[0];
  // Ids increase within a room: one above the oldest shown would be shown.
  if (oldest !== undefined && BigInt(target) > BigInt(oldest.id)) return 'missing';
  if (!view.hasMore || view.messages.length >= maxMessages) return 'missing';
  if (view.loadingOlder || view.status !== 'open') return view.status === 'closed' ? 'missing' : 'wait';
  return 'load';
}

export interface MessageTarget {
  /** The message to show (`?at=`), while it is sought and once found; null without one or when it is not there. */
  readonly id: string | null;
  /** `seeking`: older pages are coming; the log must not follow new messages to the bottom meanwhile. */
  readonly state: 'none' | 'seeking' | 'found' | 'missing';
}

/**
 * Shows message `target` of the room in its place in the log (a search result opened): older
 * pages are loaded until it is there (at most `MAX_TARGET_PAGES`), then it is scrolled to the
 * middle of the log. The log highlights `id` (see ChatLog).
 */
export function useMessageTarget(chat: ChatSocket, target: string | null): MessageTarget {
  const step = target === null ? null : targetStep(chat, target);
  const { loadOlder } = chat;

  // Each page asked for makes the step `wait` until it comes, then `load` again if need be.
  useEffect(() => {
    if (step === 'load') loadOlder();
  }, [step, loadOlder]);

  // Scrolled into view once, when it is first there: after ChatLog's own scrolling of the same render.
  const scrolledTo = useRef<string | null>(null);
  useLayoutEffect(() => {
    if (step !== 'found' || target === null || scrolledTo.current === target) return;
    scrolledTo.current = target;
    document.querySelector(`#chat-log li[data-id="${CSS.escape(target)}"]`)?.scrollIntoView({ block: 'center' });
  }, [step, target]);

  if (target === null || step === null) return { id: null, state: 'none' };
  if (step === 'found') return { id: target, state: 'found' };
  if (step === 'missing') return { id: null, state: 'missing' };
  return { id: target, state: 'seeking' };
}
