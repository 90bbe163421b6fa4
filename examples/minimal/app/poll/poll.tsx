'use client';
import { useLatest, usePresence, useRequest, useSocket } from 'next-channels/react';
import type { PollProtocol } from '@/channels/poll';
import { OPTIONS, POLL_GROUP } from '@/channels/poll-options';

const POLL = '/ws/poll/';

/** The votes as they change, and buttons to vote. */
function Votes() {
  const { socket, send, status, transport } = useSocket<PollProtocol>(POLL);
  const votes = useLatest(socket, 'votes');
  return (
    <section>
      <p id="status" data-transport={transport}>
        {status}
        {transport === 'fallback' && ' (fallback)'}
      </p>
      {OPTIONS.map((option) => (
        <button key={option} id={`vote-${option}`} onClick={() => send({ type: 'vote', option })} disabled={status !== 'open'}>
          {option}: <span id={`count-${option}`}>{votes?.counts[option] ?? 0}</span>
        </button>
      ))}
    </section>
  );
}

/** Who is here: the same socket as the votes' (one per path for the whole page). */
function WhoIsHere() {
  const { socket } = useSocket<PollProtocol>(POLL);
  const here = usePresence(socket, POLL_GROUP);
  // Keyed by user id, shown by name: in the order of names, not of ids.
  const names = here.map((entry) => ({ key: entry.key, name: String(entry.meta.name) })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return (
    <ul id="here">
      {names.map((entry) => (
        <li key={entry.key}>{entry.name}</li>
      ))}
    </ul>
  );
}

/** A request with an answer: the tally, counted by the server when asked. */
function Tally() {
  const { socket } = useSocket<PollProtocol>(POLL);
  const tally = useRequest(socket, 'tally');
  return (
    <p>
      <button id="tally" onClick={() => void tally.run({ type: 'tally' }).catch(() => {})}>
        Count the voters
      </button>{' '}
      <output id="voters">{tally.state.status === 'done' ? `${tally.state.reply.voters} voted` : tally.state.status === 'failed' ? tally.state.error.code : ''}</output>
    </p>
  );
}

/** Shown when the server said "sign in" (close 4401): the socket does not retry; the login page sets the cookie. */
function SignIn({ reason }: { reason: string | null }) {
  return (
    <p id="sign-in">
      Closed: {reason}. <a href="/login">Sign in</a> to vote.
    </p>
  );
}

/** The poll: one socket for every part of the page, which survives a restart of the server. */
export function Poll() {
  const { closeCode, closeReason } = useSocket<PollProtocol>(POLL);
  return (
    <main>
      <h1>Tea or coffee?</h1>
      {closeCode === 4401 ? (
        <SignIn reason={closeReason} />
      ) : (
        <>
          <Votes />
          <Tally />
          <WhoIsHere />
        </>
      )}
    </main>
  );
}
