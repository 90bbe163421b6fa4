'use client';

import { type FormEvent, useEffect, useState } from 'react';
import { ApiError, chatApi, type CreatedInvite, type InviteSummary, type RoomDetails } from '@/lib/client';
import { blockComposingEnter } from './composing';

const TEXT = {
  members: (count: number) => `Members (${count})`,
  owner: 'owner',
  you: 'you',
  remove: 'Remove',
  removeLabel: (name: string) => `Remove ${name} from the room`,
  leave: 'Leave room',
  leaving: 'Leaving…',
  inviteLabel: 'Invite by user name',
  invite: 'Invite',
  invited: (name: string) => `${name} is now a member.`,
  linksHeading: 'Invite links',
  linksHint: 'Anyone signed in who opens a link joins the room, until you revoke it or it expires.',
  createLink: 'Create invite link',
  linkLabel: 'Invite link',
  copy: 'Copy',
  copied: 'Copied',
  revoke: 'Revoke',
  revokeLabel: (expires: string) => `Revoke the link that expires ${expires}`,
  expires: (when: string) => `expires ${when}`,
  noLinks: 'No invite links.',
  errors: {
    unknown_user: 'Nobody has an account with that user name.',
    forbidden: 'Only the owner of the room can do that.',
    owner_cannot_leave: 'The owner cannot leave the room.',
    not_found: 'The room, or that person in it, is gone.',
    sign_in_required: 'Sign in first.',
    network: 'The server cannot be reached; try again.',
  } as Readonly<Record<string, string>>,
  failed: (detail: string) => `That did not work: ${detail}`,
} as const;

const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

function when(value: number | string): string {
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : dateTimeFormat.format(date);
}

function explain(error: unknown): string {
  if (!(error instanceof ApiError)) return TEXT.failed(String(error));
  return TEXT.errors[error.code] ?? TEXT.failed(error.detail || error.code);
}

type PrivateDetails = Extract<RoomDetails, { kind: 'private' | 'direct' }>;

/**
 * The members of a private room or direct message; for the owner of a private room, inviting by
 * user name, invite links (create, copy, revoke) and removing people; for the others, leaving.
 */
export function RoomMembers({
  info,
  myId,
  reload,
  onLeft,
}: {
  readonly info: PrivateDetails;
  readonly myId: string | undefined;
  readonly reload: () => void;
  readonly onLeft: () => void;
}) {
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const owner = info.role === 'owner';
  const privateRoom = info.kind === 'private';

  async function act(action: () => Promise<unknown>, then: () => void = reload): Promise<void> {
    setBusy(true);
    setProblem(null);
    try {
      await action();
      then();
    } catch (error) {
      setProblem(explain(error));
    } finally {
      setBusy(false);
    }
  }

  return (
    <details id="members-panel" className="members-panel">
      <summary>{TEXT.members(info.members.length)}</summary>
      <ul id="member-list">
        {info.members.map((member) => (
          <li key={member.user_id} data-user-id={member.user_id} data-role={member.role}>
            <bdi>{member.user}</bdi>
            {member.role === 'owner' && <span className="hint"> ({TEXT.owner})</span>}
            {member.user_id === myId && <span className="hint"> ({TEXT.you})</span>}
            {owner && privateRoom && member.user_id !== myId && (
              <button
                type="button"
                className="small-button"
                disabled={busy}
                aria-label={TEXT.removeLabel(member.user)}
                onClick={() => void act(() => chatApi.removeMember(info.room, member.user_id))}
              >
                {TEXT.remove}
              </button>
            )}
          </li>
        ))}
      </ul>
      {owner && privateRoom && <InviteByName room={info.room} onInvited={reload} />}
      {owner && privateRoom && <InviteLinks room={info.room} />}
      {!owner && privateRoom && (
        <button
          id="leave-room"
          type="button"
          className="danger-button"
          disabled={busy}
          onClick={() => void act(() => chatApi.removeMember(info.room, myId ?? ''), onLeft)}
        >
          {busy ? TEXT.leaving : TEXT.leave}
        </button>
      )}
      {problem && (
        <p role="alert" className="error">
          {problem}
        </p>
      )}
    </details>
  );
}

function InviteByName({ room, onInvited }: { readonly room: string; readonly onInvited: () => void }) {
  const [username, setUsername] = useState('');
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ readonly ok: boolean; readonly text: string } | null>(null);

  async function submit(event: FormEvent): Promise<void> {
    event.preventDefault();
    if (username.trim() === '') return;
    setBusy(true);
    setMessage(null);
    try {
      const person = await chatApi.invite(room, username.trim());
      setUsername('');
      setMessage({ ok: true, text: TEXT.invited(person.user) });
      onInvited();
    } catch (error) {
      setMessage({ ok: false, text: explain(error) });
    } finally {
      setBusy(false);
    }
  }

  return (
    <form id="invite-form" className="inline-form" onSubmit={(event) => void submit(event)}>
      <label htmlFor="invite-username">{TEXT.inviteLabel}</label>
      <div className="row">
        <input
          id="invite-username"
          value={username}
          required
          dir="auto"
          autoComplete="off"
          autoCapitalize="none"
          spellCheck={false}
          aria-describedby={message ? 'invite-result' : undefined}
          onChange={(event) => setUsername(event.target.value)}
          onKeyDown={blockComposingEnter}
        />
        <button id="invite-submit" type="submit" disabled={busy}>
          {TEXT.invite}
        </button>
      </div>
      {message && (
        <p id="invite-result" role={message.ok ? 'status' : 'alert'} className={message.ok ? 'hint' : 'error'}>
          {message.text}
        </p>
      )}
    </form>
  );
}

function InviteLinks({ room }: { readonly room: string }) {
  const [invites, setInvites] = useState<readonly InviteSummary[] | null>(null);
  // Tokens are shown once, when made: the list from the server has none.
  const [made, setMade] = useState<ReadonlyMap<string, CreatedInvite>>(new Map());
  const [copied, setCopied] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const [version, setVersion] = useState(0);

  useEffect(() => {
    let live = true;
    chatApi.invites(room).then(
      (list) => {
        if (live) setInvites(list);
      },
      (error: unknown) => {
        if (live) setProblem(explain(error));
      },
    );
    return () => {
      live = false;
    };
  }, [room, version]);

  async function act(action: () => Promise<void>): Promise<void> {
    setBusy(true);
    setProblem(null);
    try {
      await action();
      setVersion((previous) => previous + 1);
    } catch (error) {
      setProblem(explain(error));
    } finally {
      setBusy(false);
    }
  }

  const create = () =>
    act(async () => {
      const invite = await chatApi.createInvite(room);
      setMade((previous) => new Map(previous).set(invite.id, invite));
    });

  function copy(id: string, url: string): void {
    navigator.clipboard?.writeText(url).then(
      () => setCopied(id),
      () => setCopied(null),
    );
  }

  return (
    <section className="invite-links" aria-labelledby="invite-links-heading">
      <h3 id="invite-links-heading">{TEXT.linksHeading}</h3>
      <p className="hint">{TEXT.linksHint}</p>
      <button id="create-invite-link" type="button" disabled={busy} onClick={() => void create()}>
        {TEXT.createLink}
      </button>
      {invites !== null && invites.length === 0 && <p className="hint">{TEXT.noLinks}</p>}
      <ul id="invite-link-list">
        {(invites ?? []).map((invite) => {
          const created = made.get(invite.id);
          const url = created ? new URL(created.path, window.location.origin).href : null;
          const expires = when(invite.expires_at);
          return (
            <li key={invite.id} data-invite-id={invite.id} data-path={created?.path}>
              {url && (
                <>
                  <input className="invite-url" readOnly value={url} aria-label={TEXT.linkLabel} onFocus={(event) => event.currentTarget.select()} />
                  <button type="button" className="small-button" onClick={() => copy(invite.id, url)}>
                    {copied === invite.id ? TEXT.copied : TEXT.copy}
                  </button>
                </>
              )}
              <span className="hint">{TEXT.expires(expires)}</span>
              <button
                type="button"
                className="small-button danger-button"
                disabled={busy}
                aria-label={TEXT.revokeLabel(expires)}
                onClick={() => void act(() => chatApi.revokeInvite(room, invite.id))}
              >
                {TEXT.revoke}
              </button>
            </li>
          );
        })}
      </ul>
      {problem && (
        <p role="alert" className="error">
          {problem}
        </p>
      )}
    </section>
  );
}
