import type { Application } from './application';
import { closeAfterAccept, CloseCode } from './close-codes';
import { type ConsumerClass, type ConsumerFactory, consumerApplication } from './consumer';
import { ConnectionRefused, RouteNotFound } from './errors';
import type { RouteParams, Scope } from './scope';

/**
 * The parameters a pattern declares: `ParamsOf<'/ws/chat/:room/'>` is `{ room: string }`, so a
 * consumer that needs a parameter the pattern lacks fails to compile.
 */
export type ParamsOf<Pattern extends string> = Pattern extends `${string}:${infer Name}/${infer Rest}`
  ? { readonly [K in Name]: string } & ParamsOf<`/${Rest}`>
  : Pattern extends `${string}:${infer Name}`
    ? { readonly [K in Name]: string }
    : Readonly<Record<never, string>>;

/** One entry of a router, made by `route` or `include`. */
export interface Route {
  /** Matches the start (`include`) or the whole (`route`) of the remaining path. */
  match(path: string): {
    /** The pattern's parameters, percent-decoded and checked. */
    params: Record<string, string>;
    /** What is left of the path, for a nested router (empty after `route`). */
    rest: string;
  } | null;
  /** What runs a matching connection: a consumer's, or the nested router's. */
  readonly application: Application;
  /** The pattern as given. */
  readonly pattern: string;
}

/** Options of `route` and `include`. */
export interface RouteOptions<Pattern extends string> {
  /** Extra rules a parameter must meet, or the path does not match (HTTP 404). */
  readonly params?: { readonly [K in keyof ParamsOf<Pattern>]?: RegExp };
  /**
   * Who may connect, checked before the consumer runs (on every connection, so on every
   * reconnect). `false` refuses with a close a browser can read: 4401 `sign in` for an anonymous
   * connection, 4403 `not allowed` for a user; throw `ConnectionRefused` for another code or
   * reason (4404 for a private room that must look like none).
   */
  readonly authorize?: (scope: Scope<ParamsOf<Pattern>>) => boolean | Promise<boolean>;
}

/**
 * Routes the whole remaining path to a consumer. Patterns are literal text with `:name`
 * segments, each matching one non-empty path segment (percent-decoded before the checks in
 * `options.params`): `route('/ws/chat/:room/', ChatConsumer, { params: { room: /^\w+$/ } })`.
 */
export function route<Pattern extends string>(
  pattern: Pattern,
  consumer: ConsumerClass<ParamsOf<Pattern>> | ConsumerFactory<ParamsOf<Pattern>>,
  options: RouteOptions<Pattern> = {},
): Route {
  return compile(pattern, consumerApplication(consumer), options, true);
}

/**
 * Routes every path that starts with `prefix` to another application (a nested router, possibly
 * wrapped in middleware), which then matches what remains: `include('/ws/', urlRouter([...]))`.
 */
export function include<Pattern extends string>(
  prefix: Pattern,
  application: Application,
  options: RouteOptions<Pattern> = {},
): Route {
  return compile(prefix, application, options, false);
}

/** Tries each route in order; no match refuses the handshake with 404. */
export function urlRouter(routes: readonly Route[]): Application {
  return async (scope, connection, env) => {
    for (const candidate of routes) {
      const matched = candidate.match(scope.pathRemaining);
      if (matched === null) continue;
      const inner: Scope = {
        ...scope,
        params: { ...scope.params, ...matched.params },
        pathRemaining: matched.rest,
      };
      return candidate.application(inner, connection, env);
    }
    throw new RouteNotFound(scope.path);
  };
}

function compile(
  pattern: string,
  application: Application,
  options: RouteOptions<string>,
  whole: boolean,
): Route {
  if (!pattern.startsWith('/')) throw new Error(`route pattern must start with "/": ${JSON.stringify(pattern)}`);
  const names: string[] = [];
  const source = pattern
    .split(/(:[A-Za-z_][A-Za-z0-9_]*)/)
    .map((part) => {
      if (!part.startsWith(':')) return escapeRegExp(part);
      names.push(part.slice(1));
      return '([^/]+)';
    })
    .join('');
  // A prefix ends at a segment boundary: '/ws' matches '/ws/chat/' but not '/wsx/'.
  const end = whole ? '$' : pattern.endsWith('/') ? '' : '(?=/|$)';
  const regexp = new RegExp(`^${source}${end}`);
  const rules = (options.params ?? {}) as Readonly<Record<string, RegExp | undefined>>;
  if (options.authorize) application = authorized(application, options.authorize);
  for (const name of Object.keys(rules)) {
    if (!names.includes(name)) throw new Error(`route ${pattern} has no parameter :${name}`);
  }
  return {
    pattern,
    application,
    match(path) {
      const found = regexp.exec(path);
      if (found === null) return null;
      const params: Record<string, string> = {};
      for (let index = 0; index < names.length; index++) {
        const name = names[index]!;
        let value: string;
        try {
          value = decodeURIComponent(found[index + 1]!);
        } catch {
          return null;
        }
        if (rules[name] && !rules[name].test(value)) return null;
        params[name] = value;
      }
      const rest = path.slice(found[0].length);
      return { params, rest: whole || rest.startsWith('/') ? rest : `/${rest}` };
    },
  };
}

/** Runs `authorize` before `application`, refusing as a browser can read. */
function authorized(application: Application, authorize: (scope: Scope<ParamsOf<string>>) => boolean | Promise<boolean>): Application {
  return async (scope, connection, env) => {
    let allowed: boolean;
    try {
      allowed = await authorize(scope as Scope<ParamsOf<string>>);
    } catch (error) {
      if (!(error instanceof ConnectionRefused)) throw error;
      await closeAfterAccept(connection, error.code, error.reason);
      return;
    }
    if (allowed) return application(scope, connection, env);
    if (scope.user === null) await closeAfterAccept(connection, CloseCode.AuthenticationRequired, 'sign in');
    else await closeAfterAccept(connection, CloseCode.Forbidden, 'not allowed');
  };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export type { RouteParams };
