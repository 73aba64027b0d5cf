// A message's reactions: one toggle per emoji (count, ours highlighted), and
// a small picker of common emoji.

import { useState } from 'react';

export const COMMON_EMOJI = ['👍', '❤️', '😂', '🎉', '😮', '😢', '🙏', '👀'];

export function ReactionChips({ reactions, meId, onToggle }) {
  const entries = Object.entries(reactions || {});
  if (!entries.length) return null;
  return (
    <ul className="reactions" aria-label="Reactions">
      {entries.map(([emoji, users]) => {
        const mine = users.includes(meId);
        const n = users.length;
        return (
          <li key={emoji}>
            <button
              type="button"
              className={`reaction${mine ? ' is-mine' : ''}`}
              aria-pressed={mine}
              data-emoji={emoji}
              data-count={n}
              aria-label={`${emoji} ${n} ${n === 1 ? 'reaction' : 'reactions'}${mine ? ', including yours' : ''}`}
              onClick={() => onToggle(emoji)}
            >
              <span aria-hidden="true">{emoji}</span> <span className="reaction-count" aria-hidden="true">{n}</span>
            </button>
          </li>
        );
      })}
    </ul>
  );
}

export function EmojiPicker({ onPick, onClose }) {
  const [emoji] = useState(COMMON_EMOJI);
  return (
    <div
      className="emoji-picker"
      role="group"
      aria-label="Pick a reaction"
      onKeyDown={(e) => { if (e.key === 'Escape') { e.stopPropagation(); onClose(); } }}
    >
      {emoji.map((e, i) => (
        <button
          key={e}
          type="button"
          className="emoji-choice"
          aria-label={`React with ${e}`}
          autoFocus={i === 0}
          onClick={() => { onPick(e); onClose(); }}
        >
          {e}
        </button>
      ))}
    </div>
  );
}
