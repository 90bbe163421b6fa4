import Link from 'next/link';
import { serverMessages } from './_i18n/request-locale';

/**
 * The 404 page. Next's own one styles itself with inline style attributes and a `<style>`
 * element, which the Content-Security-Policy (styles from this site or with the nonce) refuses;
 * this one uses the site's stylesheet.
 */
export default async function NotFound() {
  const t = (await serverMessages()).notFound;
  return (
    <main className="home">
      <h1>{t.heading}</h1>
      <p className="hint">{t.hint}</p>
      <p>
        <Link href="/">{t.home}</Link>
      </p>
    </main>
  );
}
