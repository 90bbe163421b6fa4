'use client';

import { type KeyboardEvent, type ReactNode, useEffect, useRef, useState } from 'react';
import { type ChatMessageFrame, codePointLength, MAX_MESSAGE_CHARS, type ReactionFrameCount, type ReplyQuoteFrame } from '@/lib/chat/protocol';
import { type ChatSnapshot, type ChatSocket, quoteSnippet } from '@/lib/client';
import { useI18n } from '../_i18n/i18n';
import { composing } from './composing';

/** The emoji the picker offers; any other arrives from elsewhere and shows as a chip all the same. */
export const QUICK_REACTIONS = ['👍', '❤️', '😂', '🎉', '😮', '😢'] as const;


export type ChangeRefusal = NonNullable<ChatSnapshot['changeRefused']>;

/** What a message's actions need from the room: who is reading, what they may do, and how. */
export interface MessageActionsContext {
  readonly myId: string | undefined;
  /** The welcome's `limits.edit_window_ms` (0: never); null before the welcome. */
  readonly editWindowMs: number | null;
  /** May delete anyone's message: the owner of a private room. */
  readonly moderator: boolean;
  /** False when nothing can be sent any more (removed, left, no such room): no actions. */
  readonly enabled: boolean;
  /** Names of people by user id, from the log and presence, for who reacted. */
  readonly names: ReadonlyMap<string, string>;
  readonly edit: ChatSocket['edit'];
  readonly remove: ChatSocket['remove'];
  readonly react: ChatSocket['react'];
  /** Starts a reply to the message (the bar above the composer). */
  readonly reply: (message: ChatMessageFrame) => void;
  /** Scrolls to a message of the log and focuses it; false when it is not in the log. */
  readonly jumpTo: (id: string) => boolean;
  /** Whether a message is in the log (a quote of it can jump there). */
  readonly inLog: (id: string) => boolean;
  /** The last change the server refused, not yet dismissed. */
  readonly refusal: ChangeRefusal | null;
  readonly dismissRefusal: () => void;
}

/** True until `deadline` (ms since the epoch) passes; re-renders when it does. Null: never. */
function useOpenUntil(deadline: number | null): boolean {
  const [now, setNow] = useState(() => Date.now());
  const open = deadline !== null && now < deadline;
  useEffect(() => {
    if (!open || deadline === null) return;
    // At most ~24 days at once (setTimeout's limit); a longer window is checked again then.
    const timer = setTimeout(() => setNow(Date.now()), Math.min(Math.max(0, deadline - Date.now()), 2 ** 31 - 1));
    return () => clearTimeout(timer);
  }, [open, deadline]);
  return open;
}

/**
 * The "(edited)" mark of a message's meta line, the time of the last edit in its title. Nothing
 * for a message never edited or deleted.
 */
export function EditedMark({ message }: { readonly message: ChatMessageFrame }) {
  const { t, format } = useI18n();
  if (message.edited_at === undefined || message.deleted) return null;
  return (
    <>
      {' '}
      <span className="edited" title={t.messageActions.editedAt(format.dateTime(message.edited_at))}>
        {t.messageActions.edited}
      </span>
    </>
  );
}

/**
 * Everything of a message below its meta line: the quote of the message it answers, its text (or
 * the editor, or a tombstone once deleted), its reactions, a refusal of a change to it, and the
 * actions on it (reply, react, edit, delete). `text` is the text as the log renders it (links).
 */
export function MessageBody({ message, text, context }: { readonly message: ChatMessageFrame; readonly text: ReactNode; readonly context: MessageActionsContext }) {
  const { t } = useI18n();
  const TEXT = t.messageActions;
  const [editing, setEditing] = useState(false);
  const [panel, setPanel] = useState<'react' | 'delete' | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const editButton = useRef<HTMLButtonElement>(null);
  const deleteButton = useRef<HTMLButtonElement>(null);
  const reactButton = useRef<HTMLButtonElement>(null);
  const system = message.user_id === 'system';
  const own = context.myId !== undefined && message.user_id === context.myId;
  const windowMs = context.editWindowMs;
  const editable = useOpenUntil(own && !message.deleted && windowMs !== null && windowMs > 0 ? message.ts + windowMs : null);

  if (message.deleted) {
    return <p className="text tombstone">{TEXT.deleted}</p>;
  }

  const showActions = context.enabled && !system;
  const canDelete = own || context.moderator;
  const pickerId = `reaction-picker-${message.id}`;
  const confirmId = `delete-confirm-${message.id}`;

  /** Runs a change; the client says false when it could not go (no connection). */
  function change(send: () => boolean): boolean {
    context.dismissRefusal();
    const sent = send();
    setProblem(sent ? null : TEXT.offline);
    return sent;
  }

  function closePanel(focus: HTMLButtonElement | null): void {
    setPanel(null);
    focus?.focus();
  }

  const refusal = context.refusal?.id === message.id ? context.refusal : null;
  return (
    <>
      {message.reply_to && <ReplyQuote quote={message.reply_to} context={context} />}
      {editing ? (
        <MessageEditor
          message={message}
          onSave={(value) => change(() => context.edit(message.id, value))}
          onClose={() => {
            setEditing(false);
            editButton.current?.focus();
          }}
        />
      ) : (
        text
      )}
      {message.reactions && message.reactions.length > 0 && (
        // A group, not a list: `#chat-log li` stays one item per message.
        <div className="reactions" role="group" aria-label={TEXT.reactions}>
          {message.reactions.map((reaction) => (
            <ReactionChip
              key={reaction.emoji}
              reaction={reaction}
              context={context}
              onToggle={() => change(() => context.react(message.id, reaction.emoji))}
              disabled={!context.enabled}
            />
          ))}
        </div>
      )}
      {(refusal || problem) && (
        <p className="error change-problem" role="alert">
          {refusal ? TEXT.refused(t.chat.sendErrors[refusal.code] ?? refusal.detail) : problem}{' '}
          <button
            type="button"
            className="small-button"
            onClick={() => {
              if (refusal) context.dismissRefusal();
              setProblem(null);
            }}
          >
            {t.chat.dismiss}
          </button>
        </p>
      )}
      {showActions && (
        <div className="message-actions" role="group" aria-label={TEXT.actions}>
          <button type="button" className="action-button" aria-label={TEXT.reply} title={TEXT.reply} onClick={() => context.reply(message)}>
            ↩︎
          </button>
          <button
            ref={reactButton}
            type="button"
            className="action-button"
            aria-label={TEXT.react}
            title={TEXT.react}
            aria-expanded={panel === 'react'}
            aria-controls={panel === 'react' ? pickerId : undefined}
            onClick={() => setPanel((open) => (open === 'react' ? null : 'react'))}
          >
            ☺︎
          </button>
          {editable && (
            <button
              ref={editButton}
              type="button"
              className="action-button"
              aria-label={TEXT.edit}
              title={TEXT.edit}
              aria-pressed={editing}
              onClick={() => {
                setPanel(null);
                setEditing(true);
              }}
            >
              ✎
            </button>
          )}
          {canDelete && (
            <button
              ref={deleteButton}
              type="button"
              className="action-button"
              aria-label={TEXT.delete}
              title={TEXT.delete}
              aria-expanded={panel === 'delete'}
              aria-controls={panel === 'delete' ? confirmId : undefined}
              onClick={() => setPanel((open) => (open === 'delete' ? null : 'delete'))}
            >
              🗑
            </button>
          )}
        </div>
      )}
      {showActions && panel === 'react' && (
        <div
          id={pickerId}
          className="reaction-picker"
          role="group"
          aria-label={TEXT.pickReaction}
          onKeyDown={(event) => {
            if (event.key === 'Escape') closePanel(reactButton.current);
          }}
        >
          {QUICK_REACTIONS.map((emoji, index) => {
            const mine = context.myId !== undefined && (message.reactions ?? []).some((reaction) => reaction.emoji === emoji && reaction.user_ids.includes(context.myId!));
            return (
              <button
                key={emoji}
                type="button"
                className="emoji-button"
                aria-label={TEXT.reactWith(emoji)}
                aria-pressed={mine}
                autoFocus={index === 0}
                onClick={() => {
                  if (change(() => context.react(message.id, emoji))) closePanel(reactButton.current);
                }}
              >
                {emoji}
              </button>
            );
          })}
        </div>
      )}
      {showActions && canDelete && panel === 'delete' && (
        <p
          id={confirmId}
          className="delete-confirm"
          role="group"
          aria-label={TEXT.confirmDelete}
          onKeyDown={(event) => {
            if (event.key === 'Escape') closePanel(deleteButton.current);
          }}
        >
          <span>{TEXT.confirmDelete}</span>{' '}
          <button
            type="button"
            className="small-button danger-button"
            onClick={() => {
              if (change(() => context.remove(message.id))) setPanel(null);
            }}
          >
            {TEXT.delete}
          </button>{' '}
          <button type="button" className="small-button" autoFocus onClick={() => closePanel(deleteButton.current)}>
            {TEXT.cancel}
          </button>
        </p>
      )}
    </>
  );
}

/**
 * The quote of the message a reply answers: its author and text as the server quoted them (plain
 * text, cut short), or "Message deleted". A button that shows the quoted message when it is in
 * the log.
 */
function ReplyQuote({ quote, context }: { readonly quote: ReplyQuoteFrame; readonly context: MessageActionsContext }) {
  const { t } = useI18n();
  const TEXT = t.messageActions;
  const content = (
    <>
      <span className="visually-hidden">{TEXT.inReplyTo} </span>
      <span className="quote-author">
        <bdi>{quote.user}</bdi>
      </span>
      <span className={`quote-text${quote.deleted ? ' tombstone' : ''}`}>{quote.deleted ? TEXT.deleted : quote.text}</span>
    </>
  );
  if (!context.inLog(quote.id)) {
    return (
      <span className="reply-quote" data-reply-to={quote.id}>
        {content}
      </span>
    );
  }
  return (
    <button type="button" className="reply-quote" data-reply-to={quote.id} title={TEXT.showQuoted} onClick={() => context.jumpTo(quote.id)}>
      {content}
    </button>
  );
}

/** One emoji with its count; pressed when this person is among those who put it on. */
function ReactionChip({
  reaction,
  context,
  onToggle,
  disabled,
}: {
  readonly reaction: ReactionFrameCount;
  readonly context: MessageActionsContext;
  readonly onToggle: () => void;
  readonly disabled: boolean;
}) {
  const { t, format } = useI18n();
  const TEXT = t.messageActions;
  const mine = context.myId !== undefined && reaction.user_ids.includes(context.myId);
  const known = reaction.user_ids.flatMap((userId) => {
    const name = context.names.get(userId);
    return name === undefined ? [] : [name];
  });
  const title =
    known.length === 0
      ? format.plural(TEXT.reactionCount, reaction.count)
      : known.length >= reaction.count
        ? TEXT.reactedBy(known.join(TEXT.nameSeparator), reaction.emoji)
        : TEXT.reactedByMore(known.join(TEXT.nameSeparator), format.number(reaction.count - known.length), reaction.emoji);
  return (
    <button type="button" className="reaction-chip" aria-pressed={mine} title={title} disabled={disabled} onClick={onToggle}>
      {reaction.emoji} {format.number(reaction.count)}
    </button>
  );
}

/**
 * Edits a message in place: Enter saves (not while an input method composes), Shift+Enter starts
 * a new line, Escape or Cancel gives up. An unchanged text closes without sending; an empty one
 * does not send.
 */
function MessageEditor({
  message,
  onSave,
  onClose,
}: {
  readonly message: ChatMessageFrame;
  /** Sends the edit; false when it could not go (the editor stays). */
  readonly onSave: (text: string) => boolean;
  readonly onClose: () => void;
}) {
  const { t, format } = useI18n();
  const TEXT = t.messageActions;
  const [value, setValue] = useState(message.message);
  const [problem, setProblem] = useState<string | null>(null);
  const composingText = useRef(false);
  const input = useRef<HTMLTextAreaElement>(null);
  const inputId = `edit-${message.id}`;
  const hintId = `edit-hint-${message.id}`;

  useEffect(() => {
    // The caret at the end of the text, ready to type on.
    const element = input.current;
    if (!element) return;
    element.focus();
    element.setSelectionRange(element.value.length, element.value.length);
  }, []);

  function save(): void {
    if (value.trim() === '') return;
    if (value === message.message) {
      onClose();
      return;
    }
    if (codePointLength(value, MAX_MESSAGE_CHARS) > MAX_MESSAGE_CHARS) {
      setProblem(t.chat.tooLong(format.number(MAX_MESSAGE_CHARS)));
      return;
    }
    if (onSave(value)) onClose();
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>): void {
    if (event.key === 'Escape') {
      if (composingText.current || composing(event)) return;
      event.preventDefault();
      onClose();
      return;
    }
    if (event.key !== 'Enter' || event.shiftKey) return;
    // An input method uses Enter to pick characters: while it composes, Enter is not "save".
    if (composingText.current || composing(event)) return;
    event.preventDefault();
    save();
  }

  return (
    <form
      className="message-editor"
      onSubmit={(event) => {
        event.preventDefault();
        save();
      }}
    >
      <label htmlFor={inputId} className="visually-hidden">
        {TEXT.editLabel}
      </label>
      <textarea
        ref={input}
        id={inputId}
        value={value}
        rows={Math.min(8, Math.max(2, value.split('\n').length))}
        aria-describedby={problem ? `${hintId} ${inputId}-problem` : hintId}
        onChange={(event) => setValue(event.target.value)}
        onKeyDown={onKeyDown}
        onCompositionStart={() => (composingText.current = true)}
        onCompositionEnd={() => (composingText.current = false)}
      />
      <span id={hintId} className="hint">
        {TEXT.editHint}
      </span>
      <span className="editor-buttons">
        <button type="submit" className="small-button" disabled={value.trim() === ''}>
          {TEXT.save}
        </button>{' '}
        <button type="button" className="small-button" onClick={onClose}>
          {TEXT.cancel}
        </button>
      </span>
      {problem && (
        <p id={`${inputId}-problem`} role="alert" className="error">
          {problem}
        </p>
      )}
    </form>
  );
}

/**
 * Above the composer while replying: "Replying to <name>: <quote>", and × to give up. The quote
 * follows the message as it reads now (edited, or deleted).
 */
export function ReplyBar({ message, onCancel }: { readonly message: ChatMessageFrame; readonly onCancel: () => void }) {
  const { t } = useI18n();
  const TEXT = t.messageActions;
  return (
    <p id="reply-bar" className="reply-bar">
      <span className="reply-bar-text">
        {TEXT.replyingTo} <bdi className="quote-author">{message.user}</bdi>
        {TEXT.quoteColon}
        <span className={`quote-text${message.deleted ? ' tombstone' : ''}`}>{message.deleted ? TEXT.deleted : quoteSnippet(message.message)}</span>
      </span>
      <button type="button" className="reply-cancel" aria-label={TEXT.cancelReply} title={TEXT.cancelReply} onClick={onCancel}>
        ×
      </button>
    </p>
  );
}
