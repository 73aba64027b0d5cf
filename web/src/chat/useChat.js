// React's handle on the chat client: creates it for a signed-in user, starts
// it, stops it on unmount, and re-renders on every state change.

import { useEffect, useState, useSyncExternalStore } from 'react';
import { io } from 'socket.io-client';
import { api } from '../api.js';
import { createChatClient } from './client.js';
import { loadReadMarks, saveReadMarks } from './readMarks.js';

const noSubscribe = () => () => {};
const noState = () => null;

/** Returns [state, client]; both are null until the client exists (the first
 *  render).  onSessionLost: called when the server no longer knows us. */
export function useChat(me, onSessionLost, onStarted) {
  const [client, setClient] = useState(null);

  useEffect(() => {
    const c = createChatClient({
      me,
      api,
      // Same origin; the session cookie authenticates the socket.
      connect: () => io({ withCredentials: true, autoConnect: false }),
      onSessionLost,
      readMarks: loadReadMarks(me.id),
      saveReadMarks: (marks) => saveReadMarks(me.id, marks),
    });
    c.start();
    onStarted?.(c);
    setClient(c);
    return () => c.stop();
    // The client lives as long as the signed-in user; the callbacks are read once.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [me.id]);

  const state = useSyncExternalStore(
    client ? client.store.subscribe : noSubscribe,
    client ? client.store.getState : noState,
  );
  return [client ? state : null, client];
}
