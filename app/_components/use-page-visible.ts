import { useSyncExternalStore } from 'react';

// One listener for the whole page counts the times it was hidden, so each hidden spell can be
// told from the last.
let timesHidden = 0;
const listeners = new Set<() => void>();

function onVisibilityChange(): void {
  if (document.visibilityState === 'hidden') timesHidden++;
  for (const listener of listeners) listener();
}

function subscribe(onChange: () => void): () => void {
  if (listeners.size === 0) document.addEventListener('visibilitychange', onVisibilityChange);
  listeners.add(onChange);
  return () => {
    listeners.delete(onChange);
    if (listeners.size === 0) document.removeEventListener('visibilitychange', onVisibilityChange);
  };
}

/** Whether the page is visible (its tab is in front); true while rendering on the server. */
export function usePageVisible(): boolean {
  return useSyncExternalStore(
    subscribe,
    () => document.visibilityState !== 'hidden',
    () => true,
  );
}

/** How many times the page has been hidden so far (while this hook was in use). */
export function useTimesHidden(): number {
  return useSyncExternalStore(
    subscribe,
    () => timesHidden,
    () => 0,
  );
}
