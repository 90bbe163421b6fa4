import type { KeyboardEvent } from 'react';

/** True while an input method is composing: Enter then picks characters, it must not submit. */
export function composing(event: KeyboardEvent): boolean {
  return event.nativeEvent.isComposing || event.keyCode === 229;
}

/** For an input in a form: Enter while an input method composes does not submit the form. */
export function blockComposingEnter(event: KeyboardEvent<HTMLInputElement>): void {
  if (event.key === 'Enter' && composing(event)) event.preventDefault();
}
