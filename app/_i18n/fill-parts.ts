/**
 * A translated message with values put in, as parts, so each value can be shown isolated
 * (`<bdi>`): a name in a right-to-left script, or with a bidirectional override, cannot then
 * reorder the words of the message around it. The message function is called with markers in
 * place of the values and cut at them; the values never pass through it.
 */

export type FilledPart = { readonly kind: 'text'; readonly text: string } | { readonly kind: 'value'; readonly text: string };

// Private-use characters: no translation contains them.
const OPEN = '\uE000';
const CLOSE = '\uE001';
const MARKER = /\uE000(\d+)\uE001/u;

export function fillParts(message: (...values: string[]) => string, values: readonly string[]): FilledPart[] {
  const pieces = message(...values.map((_, index) => `${OPEN}${index}${CLOSE}`)).split(MARKER);
  const parts: FilledPart[] = [];
  // split with a capture group: text, index, text, index, …, text.
  pieces.forEach((piece, position) => {
    if (position % 2 === 1) parts.push({ kind: 'value', text: values[Number(piece)] ?? '' });
    else if (piece !== '') parts.push({ kind: 'text', text: piece });
  });
  return parts;
}
