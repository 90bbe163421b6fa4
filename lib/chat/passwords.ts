import { randomBytes, scrypt, type ScryptOptions, timingSafeEqual } from 'node:crypto';

/**
 * scrypt's cost parameters. The default is one of OWASP's (Password Storage Cheat Sheet, 2025):
 * N=2^15, r=8, p=3, which needs 32 MiB and a quarter of a second of one core per hash here.
 * Tests pass a cheaper one; a hash records its own parameters, so raising them later still
 * verifies old ones.
 */
export interface ScryptCost {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

export const OWASP_SCRYPT: ScryptCost = Object.freeze({ N: 2 ** 15, r: 8, p: 3 });

/** Characters (code points) a password may have: long passphrases welcome, unbounded work not. */
export const MIN_PASSWORD_CHARS = 8;
export const MAX_PASSWORD_CHARS = 256;

const KEY_BYTES = 32;
const SALT_BYTES = 16;
const STORED = /^scrypt\$(\d{1,8})\$(\d{1,3})\$(\d{1,3})\$([A-Za-z0-9_-]{16,64})\$([A-Za-z0-9_-]{40,88})$/;

/** Why a password is refused before any hashing, or `null` when it may be used. */
export function passwordProblem(password: unknown): string | null {
  if (typeof password !== 'string') return 'password must be a string';
  // Bounded before counting code points: a code point is at most two UTF-16 units.
  if (password.length > MAX_PASSWORD_CHARS * 2) return `password is longer than ${MAX_PASSWORD_CHARS} characters`;
  const chars = [...password].length;
  if (chars < MIN_PASSWORD_CHARS) return `password must have at least ${MIN_PASSWORD_CHARS} characters`;
  if (chars > MAX_PASSWORD_CHARS) return `password is longer than ${MAX_PASSWORD_CHARS} characters`;
  return null;
}

/** Too many hashes are waiting: the server is busy (or being made busy); try again in a moment. */
export class HasherBusy extends Error {
  override name = 'HasherBusy';
}

export interface PasswordHasherOptions {
  readonly cost?: ScryptCost;
  /** Hashes computed at once (default 2: each takes a libuv thread and 32 MiB). */
  readonly concurrency?: number;
  /** Hashes waiting their turn at most (default 32); past it `HasherBusy`. */
  readonly maxWaiting?: number;
}

/**
 * Hashes and checks passwords with scrypt, a few at a time: a burst of sign-ins waits its turn
 * rather than taking every thread and the memory of the process, and a flood is refused.
 */
export class PasswordHasher {
  readonly cost: ScryptCost;
  readonly #concurrency: number;
  readonly #maxWaiting: number;
  #running = 0;
  readonly #waiting: Array<() => void> = [];
  /** A hash of nothing anyone typed, checked when the user name is unknown: the answer takes as long. */
  #decoy: Promise<string> | null = null;

  constructor(options: PasswordHasherOptions = {}) {
    this.cost = options.cost ?? OWASP_SCRYPT;
    this.#concurrency = options.concurrency ?? 2;
    this.#maxWaiting = options.maxWaiting ?? 32;
  }

  /** `scrypt$N$r$p$salt$key`, salt and key in base64url. */
  async hash(password: string): Promise<string> {
    const salt = randomBytes(SALT_BYTES);
    const key = await this.#derive(password, salt, KEY_BYTES, this.cost);
    const { N, r, p } = this.cost;
    return `scrypt$${N}$${r}$${p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
  }

  /** Whether `password` is the one `stored` was made from; false for a malformed `stored`. */
  async verify(password: string, stored: string): Promise<boolean> {
    const parts = STORED.exec(stored);
    if (!parts) return false;
    const cost = { N: Number(parts[1]), r: Number(parts[2]), p: Number(parts[3]) };
    const expected = Buffer.from(parts[5]!, 'base64url');
    const key = await this.#derive(password, Buffer.from(parts[4]!, 'base64url'), expected.length, cost);
    return timingSafeEqual(key, expected);
  }

  /** As long as a `verify`, and false: for a user name nobody has. */
  async verifyNobody(password: string): Promise<false> {
    this.#decoy ??= this.hash(randomBytes(16).toString('base64url'));
    await this.verify(password, await this.#decoy);
    return false;
  }

  /** Whether a stored hash was made with weaker parameters than today's (rehash at next sign-in). */
  isOutdated(stored: string): boolean {
    const parts = STORED.exec(stored);
    return !parts || Number(parts[1]) * Number(parts[2]) * Number(parts[3]) < this.cost.N * this.cost.r * this.cost.p;
  }

  async #derive(password: string, salt: Buffer, length: number, cost: ScryptCost): Promise<Buffer> {
    await this.#turn();
    try {
      const options: ScryptOptions = { N: cost.N, r: cost.r, p: cost.p, maxmem: 256 * cost.N * cost.r + 1024 * 1024 };
      return await new Promise<Buffer>((resolve, reject) => {
        scrypt(password.normalize('NFC'), salt, length, options, (error, key) => (error ? reject(error) : resolve(key)));
      });
    } finally {
      // The slot goes straight to the next in line, so nobody arriving meanwhile can take it.
      const next = this.#waiting.shift();
      if (next) next();
      else this.#running--;
    }
  }

  async #turn(): Promise<void> {
    if (this.#running < this.#concurrency) {
      this.#running++;
      return;
    }
    if (this.#waiting.length >= this.#maxWaiting) throw new HasherBusy('too many passwords being checked; try again in a moment');
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }
}

/** scrypt at a cost that takes a millisecond: for tests only, never for stored passwords. */
export const TEST_HASHER = new PasswordHasher({ cost: { N: 2 ** 10, r: 8, p: 1 } });
