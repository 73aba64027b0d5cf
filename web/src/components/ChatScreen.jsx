import { useEffect, useRef, useState } from 'react';
import { api } from '../api.js';
import { GENERAL_ROOM_ID, totalUnread } from '../chat/state.js';
import { useChat } from '../chat/useChat.js';
import { ConnectionBanner } from './ConnectionBanner.jsx';
import { hasFinePointer, isNarrow } from './layout.js';
import { NewGroup } from './NewGroup.jsx';
import { PublicRooms } from './PublicRooms.jsx';
import { RoomView } from './RoomView.jsx';
import { Sidebar } from './Sidebar.jsx';

const CLOCK_TICK_MS = 30000; // "Today"/"Yesterday" and list times stay right

export function ChatScreen({ me, onSignedOut, onSessionLost }) {
  const [state, client] = useChat(me, onSessionLost, (c) => {
    // Wide screens open General at once; a phone starts on the list of chats.
    if (!isNarrow()) c.openRoom(GENERAL_ROOM_ID);
  });
  const [nowMs, setNowMs] = useState(() => Date.now());
  const [focusComposer, setFocusComposer] = useState(false);
  const [openError, setOpenError] = useState(null);
  const [panel, setPanel] = useState(null); // 'new-group' | 'public' | null
  const drafts = useRef(new Map()).current; // roomId -> unsent text

  useEffect(() => {
    const t = setInterval(() => setNowMs(Date.now()), CLOCK_TICK_MS);
    return () => clearInterval(t);
  }, []);

  // Typing notices expire on their own schedule; keep "now" fresh when they change.
  const typing = state?.typing;
  useEffect(() => setNowMs(Date.now()), [typing]);

  // A background tab does not read: its open room counts unread, and the
  // title shows it.
  useEffect(() => {
    if (!client) return undefined;
    const update = () => client.setVisible(document.visibilityState !== 'hidden');
    update();
    document.addEventListener('visibilitychange', update);
    return () => document.removeEventListener('visibilitychange', update);
  }, [client]);

  const unread = state ? totalUnread(state) : 0;
  useEffect(() => {
    document.title = unread ? `(${unread}) chatd` : 'chatd';
  }, [unread]);
  useEffect(() => () => { document.title = 'chatd'; }, []);

  function openRoom(id) {
    setPanel(null);
    setOpenError(null);
    setFocusComposer(hasFinePointer());
    client.openRoom(id);
  }

  async function openPerson(userId) {
    setPanel(null);
    setOpenError(null);
    setFocusComposer(hasFinePointer());
    try {
      await client.openPrivateWith(userId);
    } catch (e) {
      setOpenError(`Could not open the chat: ${e.message}`);
    }
  }

  async function signOut() {
    client?.stop(); // first, so the server's goodbye is not mistaken for a lost session
    try {
      await api.logout();
    } catch {
      /* the session dies with its TTL anyway; the user wanted out */
    }
    onSignedOut();
  }

  const room = state?.activeRoomId ? state.rooms[state.activeRoomId] : null;

  return (
    <div className="app" data-pane={room || panel ? 'room' : 'list'}>
      <ConnectionBanner state={state?.connection} />
      <Sidebar
        state={state}
        onOpenRoom={openRoom}
        onOpenPerson={openPerson}
        onSignOut={signOut}
        onNewGroup={() => setPanel('new-group')}
        onBrowse={() => setPanel('public')}
        nowMs={nowMs}
      />
      <main className="main">
        {openError && <p className="toast-error" role="alert">{openError}</p>}
        {panel === 'new-group' && state ? (
          <NewGroup state={state} client={client} onDone={(id) => openRoom(id)} onCancel={() => setPanel(null)} />
        ) : panel === 'public' && state ? (
          <PublicRooms state={state} client={client} onOpen={(id) => openRoom(id)} onCancel={() => setPanel(null)} />
        ) : room ? (
          <RoomView
            key={room.id}
            state={state}
            room={room}
            client={client}
            drafts={drafts}
            onBack={() => client.openRoom(null)}
            autoFocus={focusComposer}
            nowMs={nowMs}
          />
        ) : (
          <div className="no-room">
            <p>Pick a chat, or a person to talk to.</p>
          </div>
        )}
      </main>
    </div>
  );
}
