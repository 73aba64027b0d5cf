import { useState } from 'react';
import { api } from '../api.js';
import { Logo } from './icons.jsx';

const MODES = {
  signin: { tab: 'Sign in', submit: 'Sign in', busy: 'Signing in…', title: 'Sign in to chatd' },
  create: { tab: 'Create account', submit: 'Create account', busy: 'Creating…', title: 'Create a chatd account' },
};
const MIN_NEW_PASSWORD = 8; // docs/api.md: POST /register

/** Two distinct forms: "Sign in" never creates an account (a mistyped name is
 *  a wrong password), "Create account" only creates one (docs/api.md:
 *  POST /login with register:false, POST /register). */
export function Login({ onSignedIn, notice }) {
  const [mode, setMode] = useState('signin');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const m = MODES[mode];

  function choose(next) {
    if (next === mode || busy) return;
    setMode(next);
    setError(null);
    setPassword('');
  }

  async function submit(e) {
    e.preventDefault();
    const name = username.trim();
    if (!name || !password) {
      setError('Enter a username and a password.');
      return;
    }
    if (mode === 'create' && [...password].length < MIN_NEW_PASSWORD) {
      setError(`Choose a password of at least ${MIN_NEW_PASSWORD} characters.`);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      onSignedIn(await (mode === 'create' ? api.register(name, password) : api.login(name, password)));
    } catch (err) {
      setError(err.retryAfter ? `${err.message} (try again in ${err.retryAfter} s)` : err.message);
      setBusy(false);
    }
  }

  function tabKey(e) {
    if (e.key === 'ArrowLeft' || e.key === 'ArrowRight') {
      e.preventDefault();
      const next = mode === 'signin' ? 'create' : 'signin';
      choose(next);
      document.getElementById(`login-tab-${next}`)?.focus();
    }
  }

  return (
    <main className="login">
      <div className="login-card">
        <div className="brand brand-large">
          <Logo size={40} />
          <span>chatd</span>
        </div>
        <div className="login-tabs" role="tablist" aria-label="Sign in or create an account">
          {Object.entries(MODES).map(([key, v]) => (
            <button
              key={key}
              id={`login-tab-${key}`}
              type="button"
              role="tab"
              className="login-tab"
              aria-selected={mode === key}
              aria-controls="login-form"
              tabIndex={mode === key ? 0 : -1}
              onClick={() => choose(key)}
              onKeyDown={tabKey}
            >
              {v.tab}
            </button>
          ))}
        </div>
        <form
          key={mode}
          id="login-form"
          className="login-form"
          role="tabpanel"
          onSubmit={submit}
          aria-labelledby={`login-tab-${mode}`}
          noValidate
        >
          <h1 id="login-title">{m.title}</h1>
          <p className="login-lead">
            {mode === 'create'
              ? `Pick a name nobody has and a password of at least ${MIN_NEW_PASSWORD} characters.`
              : 'Welcome back. New here? Choose "Create account".'}
          </p>
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
              autoComplete={mode === 'create' ? 'new-password' : 'current-password'}
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              required
              minLength={mode === 'create' ? MIN_NEW_PASSWORD : undefined}
              aria-invalid={error ? 'true' : undefined}
              aria-describedby={error ? 'login-error' : undefined}
            />
          </label>
          <div className="login-error" id="login-error" role="alert">{error}</div>
          <button className="button primary" type="submit" disabled={busy}>
            {busy ? m.busy : m.submit}
          </button>
        </form>
        <p className="login-demo">
          Demo accounts: <strong>Pablo</strong>, <strong>Joe</strong>, <strong>Mary</strong> and{' '}
          <strong>Alex</strong>, password <code>password123</code>.
        </p>
      </div>
    </main>
  );
}
