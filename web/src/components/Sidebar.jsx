import { people, roomList } from '../chat/state.js';
import { shortWhen } from '../chat/timeline.js';
import { Avatar } from './Avatar.jsx';
import { Logo, SignOutIcon } from './icons.jsx';

function oneLine(text) {
  return text.replace(/\s+/g, ' ').trim();
}

function preview(state, room) {
  const last = room.last;
  if (!last) return room.private ? 'No messages yet' : 'Say hello to everyone';
  const text = oneLine(last.message);
  if (last.from === state.me.id) return `You: ${text}`;
  if (room.private) return text;
  const who = state.users[last.from]?.username;
  return who ? `${who}: ${text}` : text;
}

function unreadLabel(n) {
  return `${n} unread message${n === 1 ? '' : 's'}`;
}

function RoomItem({ state, room, onOpen, nowMs }) {
  return (
    <li>
      <button
        type="button"
        className="room-item"
        data-room-id={room.id}
        aria-current={room.active ? 'page' : undefined}
        onClick={() => onOpen(room.id)}
      >
        <Avatar name={room.title} group={!room.private} online={room.private ? room.online : undefined} />
        <span className="item-main">
          <span className="item-top">
            <span className="item-name">{room.title}</span>
            {room.last && room.last.status === 'sent' && (
              <time className="item-when" dateTime={new Date(room.last.date * 1000).toISOString()}>
                {shortWhen(room.last.date, nowMs)}
              </time>
            )}
          </span>
          <span className="item-bottom">
            <span className="item-preview">{preview(state, room)}</span>
            {room.unread > 0 && (
              <span className="badge" data-unread={room.unread} aria-label={unreadLabel(room.unread)}>
                {room.unread > 99 || room.unreadMore ? `${Math.min(room.unread, 99)}+` : room.unread}
              </span>
            )}
          </span>
        </span>
      </button>
    </li>
  );
}

function PersonItem({ user, onOpen }) {
  return (
    <li>
      <button
        type="button"
        className="person-item"
        data-user-id={user.id}
        data-online={user.online ? 'true' : 'false'}
        onClick={() => onOpen(user.id)}
        aria-label={`${user.username}, ${user.online ? 'online' : 'offline'}. Open a private chat`}
      >
        <Avatar name={user.username} size="sm" online={user.online} />
        <span className="item-name">{user.username}</span>
        <span className={`person-status ${user.online ? 'is-online' : ''}`}>{user.online ? 'Online' : 'Offline'}</span>
      </button>
    </li>
  );
}

export function Sidebar({ state, onOpenRoom, onOpenPerson, onSignOut, onNewGroup, onBrowse, nowMs }) {
  const rooms = state ? roomList(state) : [];
  const everyone = state ? people(state) : [];
  const onlineCount = everyone.filter((u) => u.online).length;
  const me = state?.me;

  return (
    <aside className="sidebar" aria-label="Conversations">
      <header className="sidebar-head">
        <div className="brand">
          <Logo />
          <span>chatd</span>
        </div>
      </header>

      <div className="sidebar-scroll">
        <nav aria-labelledby="rooms-heading">
          <h2 className="section-title" id="rooms-heading">Chats</h2>
          <div className="sidebar-actions">
            <button type="button" className="button subtle" onClick={onNewGroup}>New group</button>
            <button type="button" className="button subtle" onClick={onBrowse}>Public groups</button>
          </div>
          {rooms.length === 0 ? (
            <p className="section-empty">Loading your chats…</p>
          ) : (
            <ul className="room-list">
              {rooms.map((r) => (
                <RoomItem key={r.id} state={state} room={r} onOpen={onOpenRoom} nowMs={nowMs} />
              ))}
            </ul>
          )}
        </nav>

        <section aria-labelledby="people-heading">
          <h2 className="section-title" id="people-heading">
            People <span className="section-count">{onlineCount} online</span>
          </h2>
          {everyone.length === 0 ? (
            <p className="section-empty">Nobody else here yet.</p>
          ) : (
            <ul className="people-list">
              {everyone.map((u) => <PersonItem key={u.id} user={u} onOpen={onOpenPerson} />)}
            </ul>
          )}
        </section>
      </div>

      {me && (
        <footer className="me-card">
          <Avatar name={me.username} size="sm" online />
          <span className="me-name" data-me={me.username}>{me.username}</span>
          <button type="button" className="icon-button" onClick={onSignOut} aria-label="Sign out" title="Sign out">
            <SignOutIcon />
          </button>
        </footer>
      )}
    </aside>
  );
}
