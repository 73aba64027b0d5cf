import { useCallback, useEffect, useState } from 'react';
import { api } from './api.js';
import { ChatScreen } from './components/ChatScreen.jsx';
import { Logo } from './components/icons.jsx';
import { Login } from './components/Login.jsx';

/** Signed in or not: GET /me decides at start, so a reload keeps the session. */
export function App() {
  const [auth, setAuth] = useState({ status: 'loading' });

  useEffect(() => {
    let live = true;
    api.me()
      .then((me) => live && setAuth(me ? { status: 'in', me } : { status: 'out' }))
      .catch((e) => live && setAuth({ status: 'out', notice: e.message }));
    return () => { live = false; };
  }, []);

  const signedOut = useCallback(() => setAuth({ status: 'out' }), []);
  const sessionLost = useCallback(
    () => setAuth({ status: 'out', notice: 'Your session has ended. Please sign in again.' }), []);

  if (auth.status === 'loading') {
    return (
      <div className="splash" aria-busy="true">
        <Logo size={48} />
        <span className="sr-only">Loading…</span>
      </div>
    );
  }
  if (auth.status === 'out') {
    return <Login notice={auth.notice} onSignedIn={(me) => setAuth({ status: 'in', me })} />;
  }
  return <ChatScreen key={auth.me.id} me={auth.me} onSignedOut={signedOut} onSessionLost={sessionLost} />;
}
