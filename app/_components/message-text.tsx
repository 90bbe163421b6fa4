import { Fragment } from 'react';
import { splitLinks } from '@/lib/client';

/**
 * A message's text with its http(s) addresses as links (splitLinks): React elements, never HTML.
 * The title shows the whole address the link goes to, however it was written. The chat log and
 * the search results show text this way.
 */
export function MessageText({ text }: { readonly text: string }) {
  return (
    <p className="text">
      {splitLinks(text).map((part, index) =>
        part.kind === 'link' ? (
          <a key={index} href={part.href} title={part.href} target="_blank" rel="noopener noreferrer nofollow">
            {part.text}
          </a>
        ) : (
          <Fragment key={index}>{part.text}</Fragment>
        ),
      )}
    </p>
  );
}
