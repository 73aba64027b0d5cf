import { useEffect, useMemo, useState } from 'react';
import { roomTitle, typingNames, typingText } from '../chat/state.js';
import { Avatar } from './Avatar.jsx';
import { Composer } from './Composer.jsx';
import { BackIcon } from './icons.jsx';
import { isNarrow } from './layout.js';
import { MembersPanel } from './MembersPanel.jsx';
import { MessageList } from './MessageList.jsx';

export function RoomView({ state, room, client, drafts, onBack, autoFocus, nowMs }) {
  const title = roomTitle(state, room);
  const isPrivate = room.id.includes(':');
  const otherId = isPrivate ? room.id.split(':').find((id) => id !== state.me.id) : null;
  const other = otherId ? state.users[otherId] : null;
  const onlineCount = Object.values(state.users).filter((u) => u.online).length;
  let subtitle = isPrivate
    ? (other?.online ? 'Online' : 'Offline')
    : `${onlineCount} ${onlineCount === 1 ? 'person' : 'people'} online`;
  const typing = typingText(typingNames(state, room.id, nowMs));
  const isGroup = Boolean(room.group) || (!isPrivate && room.id !== '0');
  const [showMembers, setShowMembers] = useState(false);
  const [editingId, setEditingId] = useState(null);
  const [actionError, setActionError] = useState(null);
  if (isGroup && room.group) {
    const n = room.group.count ?? room.group.members?.length ?? 0;
    subtitle = `${n} ${n === 1 ? 'member' : 'members'}${room.group.public ? ' · public' : ''}`;
  }

  // A group from GET /rooms comes without its members: fetch them (the header counts them).
  const needMembers = isGroup && !room.group;
  useEffect(() => {
    if (needMembers) client.loadMembers(room.id).catch(() => {});
  }, [client, room.id, needMembers]);

  // What a message's buttons do; one object for the life of the room, so rows
  // need not re-render.
  const act = useMemo(() => {
    const report = (what) => (e) => setActionError(`Could not ${what}: ${e.message}`);
    // Once the edit box goes, the keyboard goes back to the composer.
    const backToComposer = () => setTimeout(() => document.getElementById('composer-input')?.focus(), 0);
    return {
      startEdit: (entry) => { setActionError(null); setEditingId(entry.id); },
      cancelEdit: () => { setEditingId(null); backToComposer(); },
      saveEdit: (entry, text) => {
        setEditingId(null);
        backToComposer();
        client.editMessage(room.id, entry.id, text).catch(report('edit the message'));
      },
      remove: (entry) => client.deleteMessage(room.id, entry.id).catch(report('delete the message')),
      react: (entry, emoji) => client.react(room.id, entry.id, emoji).catch(report('react')),
    };
  }, [client, room.id]);

  function editLast() {
    for (let i = room.messages.length - 1; i >= 0; i--) {
      const e = room.messages[i];
      if (e.from === state.me.id && e.status === 'sent' && e.id) {
        setEditingId(e.id);
        return true;
      }
    }
    return false;
  }

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
        {isGroup && (
          <button
            type="button"
            className="button subtle members-button"
            aria-expanded={showMembers}
            onClick={() => setShowMembers((v) => !v)}
          >
            Members
          </button>
        )}
      </header>

      {isGroup && showMembers && (
        <MembersPanel state={state} room={room} client={client} onClose={() => setShowMembers(false)} />
      )}
      {actionError && <p className="toast-error" role="alert">{actionError}</p>}

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
        editingId={editingId}
        act={act}
      />

      <div className="typing" aria-live="polite">{typing}</div>

      <Composer
        key={room.id}
        roomTitle={title}
        draft={drafts.get(room.id)}
        onDraft={(v) => (v ? drafts.set(room.id, v) : drafts.delete(room.id))}
        onSend={(text) => client.send(room.id, text)}
        onTyping={() => client.typing(room.id)}
        onEditLast={editLast}
        autoFocus={autoFocus}
      />
    </section>
  );
}
