/**
 * The bench's targets: one figure per server of a run, each read as a ratio to the naive `ws`
 * server's, and the app's ratio held to a limit. The anchors' ratios (Socket.IO, Bun) are printed
 * beside the app's, for scale; no limit applies to them.
 */

/** The servers a scenario can run, in the order they are printed. */
export const SERVER_KEYS = ['baseline', 'app', 'socketio', 'bun'] as const;
export type ServerKey = (typeof SERVER_KEYS)[number];

/** How each server is named in the closing lines and the README's table. */
export const SERVER_LABELS: Readonly<Record<ServerKey, string>> = { baseline: 'naive ws', app: 'app', socketio: 'Socket.IO', bun: 'Bun' };

/** Something measured on some of the servers of a run. */
export type PerServer<T> = { readonly [key in ServerKey]?: T };

export interface Target {
  readonly name: string;
  /** The figure of each server measured; `app` and `baseline` are the ones compared. */
  readonly values: PerServer<number>;
  readonly unit: string;
  /** The ratio app / baseline must be at most this (`lower`) or at least this (`higher`). */
  readonly limit: number;
  readonly better: 'lower' | 'higher';
  /** Which side bounded the measurement, where it was a saturation, or what the columns are. */
  readonly note?: string;
}

/** A server's figure over the naive server's; NaN when either is missing. */
export function ratio(target: Target, key: ServerKey = 'app'): number {
  return (target.values[key] ?? Number.NaN) / (target.values.baseline ?? Number.NaN);
}

export function met(target: Target): boolean {
  const value = ratio(target);
  return Number.isFinite(value) && (target.better === 'lower' ? value <= target.limit : value >= target.limit);
}

/** Prints each target with the app's ratio and the anchors' beside it; answers how many were missed. */
export function logTargets(targets: readonly Target[], log: (line: string) => void): number {
  for (const target of targets) {
    const comparison = target.better === 'lower' ? '≤' : '≥';
    const app = target.values.app ?? Number.NaN;
    const baseline = target.values.baseline ?? Number.NaN;
    const anchors = SERVER_KEYS.filter((key) => key !== 'app' && key !== 'baseline' && target.values[key] !== undefined)
      .map((key) => `${SERVER_LABELS[key]} ${ratio(target, key).toFixed(2)}×`)
      .join(', ');
    log(
      `  ${met(target) ? 'met   ' : 'MISSED'} ${target.name}: ${app.toFixed(3)} vs ${baseline.toFixed(3)} ${target.unit} = ${ratio(target).toFixed(2)}× ` +
        `(target ${comparison} ${target.limit}×)${anchors ? `; ${anchors}` : ''}`,
    );
    if (target.note) log(`         ${target.note}`);
  }
  const missed = targets.filter((target) => !met(target)).length;
  log(missed === 0 ? '\nevery target met' : `\n${missed} of ${targets.length} targets missed`);
  return missed;
}

/** A target as it is saved: with every server's ratio and the verdict. */
export function savedTarget(target: Target): Target & { readonly ratios: PerServer<number>; readonly ratio: number; readonly met: boolean } {
  const ratios = Object.fromEntries(SERVER_KEYS.filter((key) => target.values[key] !== undefined).map((key) => [key, ratio(target, key)]));
  return { ...target, ratios, ratio: ratio(target), met: met(target) };
}
