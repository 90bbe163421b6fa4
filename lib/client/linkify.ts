import { LinkifyIt } from 'linkify-it';

/** A piece of a message: plain text, or an http(s) link with its address. */
export type TextPart = { readonly kind: 'text'; readonly text: string } | { readonly kind: 'link'; readonly text: string; readonly href: string };

// Only addresses written with http:// or https://: no schemaless "example.com", no mailto:,
// no protocol-relative "//host", so a link is never something the writer did not type.
const linkify = new LinkifyIt({ fuzzyLink: false, fuzzyEmail: false, fuzzyIP: false });
linkify.add('mailto:', null).add('ftp:', null).add('//', null);

// Full-width punctuation ends a link: Chinese text puts 。，！ right after an address with no space.
const CJK_PUNCTUATION = /[\u3000-\u303F\uFF01-\uFF0F\uFF1A-\uFF20\uFF3B-\uFF40\uFF5B-\uFF65\u2018-\u201F\u2026]/u;

function safeHref(candidate: string): string | null {
  try {
    const url = new URL(candidate);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

/** Splits message text into text and http(s) links, in order; the parts' texts join to the input. */
export function splitLinks(text: string): TextPart[] {
  const parts: TextPart[] = [];
  let at = 0;
  const pushText = (value: string): void => {
    if (value === '') return;
    const last = parts.at(-1);
    if (last?.kind === 'text') parts[parts.length - 1] = { kind: 'text', text: last.text + value };
    else parts.push({ kind: 'text', text: value });
  };
  for (const match of linkify.match(text) ?? []) {
    if (match.index < at) continue;
    let raw = text.slice(match.index, match.lastIndex);
    const cut = raw.search(CJK_PUNCTUATION);
    if (cut >= 0) raw = raw.slice(0, cut);
    const href = /^https?:\/\//i.test(raw) ? safeHref(raw) : null;
    pushText(text.slice(at, match.index));
    if (href === null || !/^https?:\/\/[^/?#]/i.test(raw)) pushText(raw);
    else parts.push({ kind: 'link', text: raw, href });
    at = match.index + raw.length;
  }
  pushText(text.slice(at));
  return parts;
}
