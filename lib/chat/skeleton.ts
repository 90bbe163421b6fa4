import unhomoglyph from 'unhomoglyph';

/**
 * The confusable skeleton of a text (Unicode TR39 §4): NFD, each character replaced by its
 * prototype from the Unicode confusables table, NFD again. Two texts that a reader could take for
 * one another have the same skeleton: `skeleton('Sуstem')` (Cyrillic у) is `skeleton('System')`.
 * A skeleton is for comparing, never for showing (`m` becomes `rn`).
 *
 * The table is the npm package `unhomoglyph`, generated from the Unicode confusables.txt.
 */
export function skeleton(text: string): string {
  return unhomoglyph(text.normalize('NFD')).normalize('NFD');
}

/**
 * A set of names, and every way of writing one that reads the same: in another script
 * (`Sуstem`), another case, letter by letter (`ЅYSTEM`, `ADMlN` with a small L, `АDМІΝіЅТRАТОR`),
 * spaced, punctuated or accented (`S y s t e m`, `System.`, `Systém`). Only letters and digits
 * count; marks, spaces, punctuation and symbols are ignored.
 */
export class LookAlikes {
  /** The whole-text key of each name (see `#key`). */
  readonly #keys = new Set<string>();
  /** For each name, letter by letter, what the letter looks like in either case. */
  readonly #shapes: ReadonlyArray<ReadonlyArray<ReadonlySet<string>>> = [];

  constructor(names: Iterable<string>) {
    const shapes: Array<ReadonlyArray<ReadonlySet<string>>> = [];
    for (const name of names) {
      this.#keys.add(LookAlikes.#key(name));
      shapes.push(letters(name).map((letter) => new Set([shape(letter.toLowerCase()), shape(letter.toUpperCase())])));
    }
    this.#shapes = shapes;
  }

  /** Whether `text` could be read as one of the names. */
  has(text: string): boolean {
    if (this.#keys.has(LookAlikes.#key(text))) return true;
    const seen = letters(text).map(shape);
    return this.#shapes.some((name) => name.length === seen.length && name.every((shapes, index) => shapes.has(seen[index]!)));
  }

  /**
   * The TR39 comparison, whatever the case: the skeleton of the case-folded text, letters and
   * digits only. It meets look-alikes that differ in length (`rn` for `m`), which the letter by
   * letter comparison cannot.
   */
  static #key(text: string): string {
    return letters(skeleton(foldCase(text))).join('');
  }
}

/** What a letter looks like: its skeleton, case-folded (`І`, `l` and `1` all look like `l`). */
function shape(letter: string): string {
  return foldCase(skeleton(letter));
}

/** Full case folding, near enough for comparing: `ß` → `ss`, `Σ`/`ς` → `σ`. */
function foldCase(text: string): string {
  return text.toUpperCase().toLowerCase();
}

/** The letters and digits of a text, decomposed (its marks go). */
function letters(text: string): string[] {
  return text.normalize('NFD').match(/[\p{L}\p{N}]/gu) ?? [];
}
