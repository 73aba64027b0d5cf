import { useState } from 'react';
import { api } from '../api.js';
import { Logo } from './icons.jsx';

/** One form for both signing in and signing up: the server registers a name
 *  it does not know (docs/contract.md: POST /login). */
export function Login({ onSignedIn, notice }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);

  async function submit(e) {
    e.preventDefault();
    const name = username.trim();
    if (!name || !password) {
      setError('Enter a username and a password.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      onSignedIn(await api.login(name, password));
    } catch (err) {
      setError(err.retryAfter ? `${err.message} (try again in ${err.retryAfter} s)` : err.message);
      setBusy(false);
    }
  }

  return (
    <main className="login">
      <form className="login-card" onSubmit={submit} aria-labelledby="login-title" noValidate>
        <div className="brand brand-large">
          <Logo size={40} />
          <span>chatd</span>
        </div>
        <h1 id="login-title">Sign in or sign up</h1>
        <p className="login-lead">New here? Pick a name and a password: your account is created as you sign in.</p>
        {notice && !error && <p className="notice" role="status">{notice}</p>}
        <label className="field">
          <span>Username</span>
          <input
            name="username"
            autoComplete="username"
            autoCapitalize="none"
            spellCheck="false"
            maxLength={32}
            value={username}
            onChange={(e) => setUsername(e.target.value)}
            autoFocus
            required
            aria-invalid={error ? 'true' : undefined}
            aria-describedby={error ? 'login-error' : undefined}
          />
        </label>
        <label className="field">
          <span>Password</span>
          <input
            name="password"
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            required
            aria-invalid={error ? 'true' : undefined}
            aria-describedby={error ? 'login-error' : undefined}
          />
        </label>
        <div className="login-error" id="login-error" role="alert">{error}</div>
        <button className="button primary" type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Continue'}
        </button>
        <p className="login-demo">
          Demo accounts: <strong>Pablo</strong>, <strong>Joe</strong>, <strong>Mary</strong> and{' '}
          <strong>Alex</strong>, password <code>password123</code>.
        </p>
      </form>
    </main>
  );
}
