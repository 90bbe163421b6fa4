import { useEffect, useSyncExternalStore } from 'react';
import { ApiError, chatApi, SESSION_CHANGED_EVENT, type SessionInfo } from '@/lib/client';

export type SessionState =
  | { readonly status: 'loading' }
  | { readonly status: 'ready'; readonly session: SessionInfo }
  | { readonly status: 'error'; readonly detail: string };

// One request per page load for every component that asks, again after the session changed.
const LOADING: SessionState = { status: 'loading' };
let state: SessionState = LOADING;
let started = false;
const listeners = new Set<() => void>();

function set(next: SessionState): void {
  state = next;
  for (const listener of listeners) listener();
}

function load(): void {
  started = true;
  chatApi.session().then(
    (session) => set({ status: 'ready', session }),
    (error: unknown) => set({ status: 'error', detail: error instanceof ApiError ? error.detail : String(error) }),
  );
}

function subscribe(onChange: () => void): () => void {
  listeners.add(onChange);
  return () => listeners.delete(onChange);
}

/**
 * Who this browser is (`GET /api/session`): the display name, the user id, and the account when
 * signed in. Loaded once per page and shared; a rename (`SESSION_CHANGED_EVENT`) loads it again.
 * Signing in or out loads a whole new page, so every socket takes the new cookie.
 */
export function useSession(): SessionState {
  const current = useSyncExternalStore(
    subscribe,
    () => state,
    () => LOADING,
  );
  useEffect(() => {
    if (started) return;
    load();
    window.addEventListener(SESSION_CHANGED_EVENT, load);
  }, []);
  return current;
}

/** The session once loaded, else null. */
export function readySession(state: SessionState): SessionInfo | null {
  return state.status === 'ready' ? state.session : null;
}
