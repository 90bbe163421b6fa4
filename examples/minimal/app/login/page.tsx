import { signIn } from './actions';

/** The demo login: a name, no password (see the README). */
export default async function Login({ searchParams }: { searchParams: Promise<{ error?: string }> }) {
  const { error } = await searchParams;
  return (
    <main>
      <h1>Sign in</h1>
      <form id="login" action={signIn}>
        <label>
          Your name <input id="name" name="name" required maxLength={32} autoComplete="username" />
        </label>{' '}
        <button type="submit">Sign in</button>
      </form>
      {error === 'name' && <p id="login-error">A name is 1 to 32 letters, digits, spaces, _ or -.</p>}
      <p>A demo: anyone may sign in under any name, without a password.</p>
    </main>
  );
}
