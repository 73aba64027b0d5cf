import { memo, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { buildTimeline, fullDateLabel, linkify, timeLabel } from '../chat/timeline.js';
import { Avatar } from './Avatar.jsx';
import { EditBox } from './EditBox.jsx';
import { DeleteConfirm, MessageActions } from './MessageActions.jsx';
import { EmojiPicker, ReactionChips } from './Reactions.jsx';

const STICK_TO_BOTTOM_PX = 80; // this close to the bottom counts as "reading the newest"

/** Message text, always as text: links become <a>, nothing becomes HTML. */
export function MessageText({ text }) {
  return (
    <p className="msg-text">
      {linkify(text).map((part, i) =>
        part.href ? (
          <a key={i} href={part.href} target="_blank" rel="noopener noreferrer nofollow">{part.text}</a>
        ) : (
          part.text
        ))}
    </p>
  );
}

const MessageRow = memo(function MessageRow({ row, name, showNames, meId, editing, act, onRetry, onDiscard }) {
  const { entry, mine, first } = row;
  const time = entry.status === 'sent' ? timeLabel(entry.date) : '';
  const [picking, setPicking] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [selected, setSelected] = useState(false);
  const actionable = entry.status === 'sent' && Boolean(entry.id) && act;
  return (
    <li
      className={`msg${mine ? ' msg-mine' : ''}${first ? ' msg-first' : ''} msg-${entry.status}${selected ? ' is-selected' : ''}`}
      data-key={entry.key}
      data-id={entry.id}
      data-status={entry.status}
      onContextMenu={actionable ? (e) => { e.preventDefault(); setSelected((v) => !v); } : undefined}
    >
      {!mine && (first ? <Avatar name={name} size="sm" /> : <span className="avatar-spacer" aria-hidden="true" />)}
      <div className="msg-body">
        {first && (
          <div className={`msg-author${mine || !showNames ? ' sr-only' : ''}`}>{mine ? 'You' : name}</div>
        )}
        {editing ? (
          <EditBox
            initial={entry.message}
            onSave={(text) => act.saveEdit(entry, text)}
            onCancel={act.cancelEdit}
          />
        ) : (
          <div className="bubble">
            <MessageText text={entry.message} />
            {entry.edited && <span className="msg-edited">(edited)</span>}
            {time && (
              <time className="msg-time" dateTime={new Date(entry.date * 1000).toISOString()} title={fullDateLabel(entry.date)}>
                {time}
              </time>
            )}
          </div>
        )}
        {actionable && !editing && (
          <MessageActions
            mine={mine}
            onReact={() => setPicking((v) => !v)}
            onEdit={() => { setSelected(false); act.startEdit(entry); }}
            onDelete={() => setConfirming(true)}
          />
        )}
        {picking && <EmojiPicker onPick={(e) => act.react(entry, e)} onClose={() => { setPicking(false); setSelected(false); }} />}
        {actionable && (
          <ReactionChips reactions={entry.reactions} meId={meId} onToggle={(e) => act.react(entry, e)} />
        )}
        {confirming && (
          <DeleteConfirm
            onConfirm={() => { setConfirming(false); act.remove(entry); }}
            onCancel={() => { setConfirming(false); setSelected(false); }}
          />
        )}
        {entry.status === 'pending' && <div className="msg-state">Sending…</div>}
        {entry.status === 'failed' && (
          <div className="msg-state msg-error" role="alert">
            <span>Not sent: {entry.error}</span>
            <button type="button" className="link-button" onClick={() => onRetry(entry.clientId)}>Retry</button>
            <button type="button" className="link-button" onClick={() => onDiscard(entry.clientId)}>Discard</button>
          </div>
        )}
      </div>
    </li>
  );
}, (a, b) =>
  // A row changes only with its message or its place in a run; the callbacks
  // are bound to the room, which stays the same for the life of the list.
  a.row.entry === b.row.entry && a.row.first === b.row.first && a.row.mine === b.row.mine &&
  a.name === b.name && a.showNames === b.showNames && a.editing === b.editing && a.act === b.act);

/**
 * The scrolling message log.  Keeps the reader's place: opening a room shows
 * the newest messages; new messages scroll into view only when the reader is
 * at the bottom (or sent them); loading older messages above leaves what is on
 * screen exactly where it was.
 */
export function MessageList({
  room, title, isPrivate, meId, users, onLoadOlder, onReload, onRetry, onDiscard, nowMs, editingId = null, act = null,
}) {
  const beginning = isPrivate
    ? `This is the beginning of your conversation with ${title}.`
    : `This is the beginning of ${title}.`;
  const scroller = useRef(null);
  const last = useRef({ roomId: null, firstKey: null, lastKey: null, height: 0, atBottom: true });
  const rows = useMemo(() => buildTimeline(room.messages, meId, nowMs), [room.messages, meId, nowMs]);

  const firstKey = room.messages[0]?.key ?? null;
  const lastEntry = room.messages[room.messages.length - 1];
  const lastKey = lastEntry?.key ?? null;

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const prev = last.current;
    if (prev.roomId !== room.id) {
      el.scrollTop = el.scrollHeight; // a room opens at its newest message
    } else if (firstKey !== prev.firstKey && lastKey === prev.lastKey) {
      el.scrollTop += el.scrollHeight - prev.height; // older messages went in above
    } else if (lastKey !== prev.lastKey && (prev.atBottom || (lastEntry?.from === meId && lastEntry.status !== 'sent'))) {
      el.scrollTop = el.scrollHeight; // something new at the bottom, and we were there
    }
    last.current = {
      roomId: room.id, firstKey, lastKey, height: el.scrollHeight,
      atBottom: el.scrollHeight - el.scrollTop - el.clientHeight < STICK_TO_BOTTOM_PX,
    };
  });

  function onScroll() {
    const el = scroller.current;
    last.current.atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < STICK_TO_BOTTOM_PX;
    last.current.height = el.scrollHeight;
  }

  return (
    // Focusable, so the history scrolls with the keyboard too.
    <div className="messages" ref={scroller} onScroll={onScroll} tabIndex={0} role="region" aria-label={`${title}: message history`}>
      <div className="messages-top">
        {room.loaded && room.hasMore && (
          <button type="button" className="button subtle load-older" onClick={onLoadOlder} disabled={room.loadingOlder}>
            {room.loadingOlder ? 'Loading…' : 'Load older messages'}
          </button>
        )}
        {room.loaded && !room.hasMore && room.messages.length > 0 && (
          <p className="messages-start">{beginning}</p>
        )}
        {room.error && (
          <p className="messages-error" role="alert">
            Could not load messages: {room.error}{' '}
            <button type="button" className="link-button" onClick={room.loaded ? onLoadOlder : onReload}>Try again</button>
          </p>
        )}
      </div>
      {!room.loaded && !room.error && <p className="messages-empty">Loading messages…</p>}
      {room.loaded && room.messages.length === 0 && (
        <p className="messages-empty">No messages yet. Say hello!</p>
      )}
      <ol className={`message-log${isPrivate ? ' is-private' : ''}`} role="log" aria-label={`Messages in ${title}`}>
        {rows.map((row) =>
          row.kind === 'day' ? (
            <li key={row.key} className="day-separator" role="separator" aria-label={row.label}>
              <span>{row.label}</span>
            </li>
          ) : (
            <MessageRow
              key={row.key}
              row={row}
              name={users[row.entry.from]?.username || 'Someone'}
              showNames={!isPrivate /* a private room's header already names the other person */}
              meId={meId}
              editing={Boolean(editingId) && row.entry.id === editingId}
              act={act}
              onRetry={onRetry}
              onDiscard={onDiscard}
            />
          ))}
      </ol>
    </div>
  );
}
