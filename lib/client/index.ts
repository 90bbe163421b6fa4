/** The browser side of the chat: a framework-free client, and the React hook over it. */
export {
  ChatClient,
  CONNECTION_STATUSES,
  REMOVED_CLOSE_CODE,
  ROOM_NOT_FOUND_CLOSE_CODE,
  SESSION_ENDED_CLOSE_CODE,
  type ChatClientOptions,
  type ChatSnapshot,
  type ConnectionStatus,
} from './chat-client';
export type { FailedMessage, PendingMessage } from './outbox';
export type { ChatMessageFrame, EventFrame, ReactionFrameCount, ReplyQuoteFrame } from '../chat/protocol';
export { isEmoji, MAX_EMOJI_UNITS } from '../chat/protocol';
export type { OutboxStorage } from './platform';
export { chatSocketUrl, useChatSocket, type ChatSocket, type UseChatSocketOptions } from './use-chat-socket';
export { type MentionParts, mentionParts, NotificationClient, type NotificationClientOptions, type ShownNotification } from './notification-client';
export { notificationSocketUrl, SESSION_CHANGED_EVENT, useNotifications } from './use-notifications';
export {
  type Account,
  ApiError,
  chatApi,
  type CreatedInvite,
  type InviteSummary,
  type PersonRef,
  type RoomDetails,
  type RoomKind,
  type RoomMember,
  type RoomRole,
  type RoomSummary,
  retryAfterSeconds,
  sameSitePath,
  searchPath,
  type SearchResults,
  type SessionInfo,
  UNREAD_CAP,
} from './api';
export { splitLinks, type TextPart } from './linkify';
export { quoteSnippet } from './message-log';
export { HTML_LANG, isLocale, type Locale, LOCALE_COOKIE, localeCookie, localeFromAcceptLanguage, localeFromLanguages, LOCALES, requestLocale } from './locale';
