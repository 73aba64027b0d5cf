import { roomTitle, typingNames, typingText } from '../chat/state.js';
import { Avatar } from './Avatar.jsx';
import { Composer } from './Composer.jsx';
import { BackIcon } from './icons.jsx';
import { isNarrow } from './layout.js';
import { MessageList } from './MessageList.jsx';

export function RoomView({ state, room, client, drafts, onBack, autoFocus, nowMs }) {
  const title = roomTitle(state, room);
  const isPrivate = room.id.includes(':');
  const otherId = isPrivate ? room.id.split(':').find((id) => id !== state.me.id) : null;
  const other = otherId ? state.users[otherId] : null;
  const onlineCount = Object.values(state.users).filter((u) => u.online).length;
  const subtitle = isPrivate
    ? (other?.online ? 'Online' : 'Offline')
    : `${onlineCount} ${onlineCount === 1 ? 'person' : 'people'} online`;
  const typing = typingText(typingNames(state, room.id, nowMs));

  return (
    <section
      className="room"
      aria-labelledby="room-title"
      data-room-id={room.id}
      onKeyDown={(e) => {
        // On a phone the room covers the list: Escape goes back to it.
        if (e.key === 'Escape' && isNarrow()) onBack();
      }}
    >
      <header className="room-head">
        <button type="button" className="icon-button back-button" onClick={onBack} aria-label="Back to chats">
          <BackIcon />
        </button>
        <Avatar name={title} group={!isPrivate} online={isPrivate ? Boolean(other?.online) : undefined} />
        <div className="room-head-text">
          <h1 id="room-title">{title}</h1>
          <p className={`room-sub${isPrivate && other?.online ? ' is-online' : ''}`}>{subtitle}</p>
        </div>
      </header>

      <MessageList
        room={room}
        title={title}
        meId={state.me.id}
        users={state.users}
        isPrivate={isPrivate}
        onLoadOlder={() => client.loadOlder(room.id)}
        onReload={() => client.reloadRoom(room.id)}
        onRetry={(clientId) => client.retry(room.id, clientId)}
        onDiscard={(clientId) => client.discard(room.id, clientId)}
        nowMs={nowMs}
      />

      <div className="typing" aria-live="polite">{typing}</div>

      <Composer
        key={room.id}
        roomTitle={title}
        draft={drafts.get(room.id)}
        onDraft={(v) => (v ? drafts.set(room.id, v) : drafts.delete(room.id))}
        onSend={(text) => client.send(room.id, text)}
        onTyping={() => client.typing(room.id)}
        autoFocus={autoFocus}
      />
    </section>
  );
}
