'use client';

import { type FormEvent, useEffect, useState } from 'react';
import { ApiError, chatApi, type CreatedInvite, type InviteSummary, type RoomDetails } from '@/lib/client';
import { useI18n } from '../_i18n/i18n';
import type { Messages } from '../_i18n/messages';
import { blockComposingEnter } from './composing';


function timestamp(value: number | string): number | null {
  const time = new Date(value).getTime();
  return Number.isNaN(time) ? null : time;
}

function explain(TEXT: Messages['members'], error: unknown): string {
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
  const TEXT = useI18n().t.members;
  const { format } = useI18n();
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
      setProblem(explain(TEXT, error));
    } finally {
      setBusy(false);
    }
  }

  return (
    <details id="members-panel" className="members-panel">
      <summary>{TEXT.members(format.number(info.members.length))}</summary>
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
  const TEXT = useI18n().t.members;
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
      setMessage({ ok: false, text: explain(TEXT, error) });
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
  const TEXT = useI18n().t.members;
  const { format } = useI18n();
  const [invites, setInvites] = useState<readonly InviteSummary[] | null>(null);
  // Tokens are shown once, when made: the list from the server has none.
  const [made, setMade] = useState<ReadonlyMap<string, CreatedInvite>>(new Map());
  const [copied, setCopied] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const [version, setVersion] = useState(0);
  // When the list came: the "expires in …" of each link counts from it.
  const [loadedAt, setLoadedAt] = useState(0);

  useEffect(() => {
    let live = true;
    chatApi.invites(room).then(
      (list) => {
        if (!live) return;
        setInvites(list);
        setLoadedAt(Date.now());
      },
      (error: unknown) => {
        if (live) setProblem(explain(TEXT, error));
      },
    );
    return () => {
      live = false;
    };
  }, [room, version, TEXT]);

  async function act(action: () => Promise<void>): Promise<void> {
    setBusy(true);
    setProblem(null);
    try {
      await action();
      setVersion((previous) => previous + 1);
    } catch (error) {
      setProblem(explain(TEXT, error));
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
          const at = timestamp(invite.expires_at);
          const expires = at === null ? String(invite.expires_at) : format.dateTime(at);
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
              <span className="hint" title={expires}>
                {TEXT.expires(at === null ? expires : format.relative(at, loadedAt))}
              </span>
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
