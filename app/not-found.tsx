import Link from 'next/link';

/**
 * The 404 page. Next's own one styles itself with inline style attributes and a `<style>`
 * element, which the Content-Security-Policy (styles from this site or with the nonce) refuses;
 * this one uses the site's stylesheet.
 */
export default function NotFound() {
  return (
    <main className="home">
      <h1>Page not found</h1>
      <p className="hint">There is nothing at this address.</p>
      <p>
        <Link href="/">Choose a room</Link>
      </p>
    </main>
  );
}
