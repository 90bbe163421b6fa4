// What the poll's page needs at run time as well as its types: nothing here imports the server.

/** What one may vote for. */
export const OPTIONS = ['tea', 'coffee'] as const;
/** One of {@link OPTIONS}. */
export type Option = (typeof OPTIONS)[number];
/** Votes per option. */
export type Counts = Record<Option, number>;
/** Everyone on the poll is in this group, and listed in its presence. */
export const POLL_GROUP = 'poll';
