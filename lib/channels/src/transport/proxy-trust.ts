import type { IncomingHttpHeaders } from 'node:http';
import { BlockList, isIP } from 'node:net';

/** Ranges by name, as Express's `trust proxy` names them. */
const KEYWORDS: Readonly<Record<string, readonly string[]>> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
  uniquelocal: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
};

const EXPECTED = `an address, a CIDR (10.0.0.0/8, fd00::/8) or one of ${Object.keys(KEYWORDS).join(', ')}`;

/** What a request shows of where it came from: Node's `IncomingMessage` is one. */
export interface ForwardedRequest {
  /** The connection the request came on. */
  readonly socket: {
    /** The peer's address: the client's, or a proxy's (undefined once the socket is destroyed). */
    readonly remoteAddress?: string | undefined;
  };
  /** The request headers, where `x-forwarded-for` is read. */
  readonly headers: IncomingHttpHeaders;
}

/**
 * The proxies whose `X-Forwarded-For` is believed, by address, as Express's `trust proxy` takes
 * them. A client can write anything into that header, so it counts only when the socket's peer
 * is a trusted proxy; then the client is the rightmost entry that is not itself a trusted proxy
 * (each hop appends the address it saw, so entries left of that one are the client's own words).
 *
 * @example
 * const trust = ProxyTrust.parse('127.0.0.1, 10.0.0.0/8'); // nginx here, balancers on the LAN
 * trust.clientAddress(req); // the address per-address limits count
 */
export class ProxyTrust {
  /** Trusts nobody: the client address is always the socket's peer. */
  static readonly none: ProxyTrust = new ProxyTrust([]);

  readonly #list = new BlockList();
  readonly #entries: readonly string[];

  /**
   * @param entries addresses (`127.0.0.1`, `::1`), CIDRs (`10.0.0.0/8`, `fd00::/8`) and the
   *   keywords `loopback`, `linklocal` and `uniquelocal`.
   * @throws TypeError naming the entry that is none of these.
   */
  constructor(entries: Iterable<string>) {
    const kept: string[] = [];
    for (const raw of entries) {
      const entry = raw.trim().toLowerCase();
      if (entry === '') continue;
      for (const range of KEYWORDS[entry] ?? [entry]) this.#add(range, raw);
      kept.push(entry);
    }
    this.#entries = kept;
  }

  /**
   * A comma list of entries (see the constructor); `off` or an empty list trusts nobody.
   * `on` and `true` are refused: trusting every peer would let any client pick its address.
   *
   * @throws TypeError naming the entry that cannot be used.
   */
  static parse(list: string): ProxyTrust {
    const value = list.trim().toLowerCase();
    if (value === '' || value === 'off' || value === 'false') return ProxyTrust.none;
    if (value === 'on' || value === 'true') {
      throw new TypeError(`${JSON.stringify(list.trim())} would believe X-Forwarded-For from any peer: list the proxies instead (${EXPECTED})`);
    }
    return new ProxyTrust(list.split(','));
  }

  /** True when no proxy is trusted. */
  get trustsNobody(): boolean {
    return this.#entries.length === 0;
  }

  /** Whether `address` (as a socket reports it, IPv4-mapped IPv6 included) is a trusted proxy. */
  trusts(address: string): boolean {
    const family = isIP(address);
    if (family === 0 || this.#entries.length === 0) return false;
    return this.#list.check(address, family === 6 ? 'ipv6' : 'ipv4');
  }

  /**
   * The client's address: the socket's peer, unless that is a trusted proxy; then, walking
   * `X-Forwarded-For` from the right, the first entry that is not a trusted proxy. An entry that
   * is not an address ends the walk at the hop that reported it (no made-up text becomes a
   * client address), and so does the end of the list. IPv4-mapped IPv6 (`::ffff:127.0.0.1`)
   * comes out as IPv4, so one client has one address however it arrives.
   */
  clientAddress(req: ForwardedRequest): string {
    let address = peerAddress(req.socket);
    if (!this.trusts(address)) return address;
    const header = req.headers['x-forwarded-for'];
    const list = Array.isArray(header) ? header.join(',') : header;
    if (!list) return address;
    // From the right, without splitting the whole header: the walk usually stops at the first entry.
    let end = list.length;
    for (;;) {
      const comma = end === 0 ? -1 : list.lastIndexOf(',', end - 1);
      const entry = list.slice(comma + 1, end).trim();
      if (entry !== '') {
        if (isIP(entry) === 0) return address;
        address = normaliseAddress(entry);
        if (!this.trusts(address)) return address;
      }
      if (comma === -1) return address;
      end = comma;
    }
  }

  /** The entries as configured (lower case), for logs. */
  toJSON(): readonly string[] {
    return this.#entries;
  }

  #add(range: string, raw: string): void {
    const [address = '', prefixText, extra] = range.split('/');
    const family = isIP(address);
    const bits = family === 6 ? 128 : 32;
    const prefix = prefixText === undefined ? bits : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : Number.NaN;
    if (family === 0 || extra !== undefined || !(prefix <= bits)) {
      throw new TypeError(`not a proxy address: ${JSON.stringify(raw.trim())} (expected ${EXPECTED})`);
    }
    this.#list.addSubnet(address, prefix, family === 6 ? 'ipv6' : 'ipv4');
  }
}

/**
 * One spelling per address: lower case, and IPv4-mapped IPv6 (how a dual-stack socket reports
 * an IPv4 peer) as plain IPv4. `address` is one `net.isIP` accepts.
 */
export function normaliseAddress(address: string): string {
  const lower = address.toLowerCase();
  if (!lower.startsWith('::ffff:')) return lower;
  const rest = lower.slice(7);
  if (isIP(rest) === 4) return rest;
  const hex = /^([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(rest);
  if (!hex) return lower;
  const high = Number.parseInt(hex[1]!, 16);
  const low = Number.parseInt(hex[2]!, 16);
  return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
}

/** The peer address of a socket, normalised; `unknown` once the socket is gone. */
export function peerAddress(socket: { readonly remoteAddress?: string | undefined }): string {
  const peer = socket.remoteAddress;
  return peer === undefined ? 'unknown' : normaliseAddress(peer);
}
