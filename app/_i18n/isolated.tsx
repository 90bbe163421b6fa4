import { Fragment } from 'react';
import { fillParts } from './fill-parts';

/** A translated message with its values (names, rooms, what people wrote) each in a `<bdi>`. */
export function Isolated({ message, values }: { readonly message: (...values: string[]) => string; readonly values: readonly string[] }) {
  return (
    <>
      {fillParts(message, values).map((part, index) =>
        part.kind === 'value' ? <bdi key={index}>{part.text}</bdi> : <Fragment key={index}>{part.text}</Fragment>,
      )}
    </>
  );
}
