// A full-height panel in place of a room (new group, public groups): a
// header with a back button and a title; Escape closes it too.

import { BackIcon } from './icons.jsx';

export function Panel({ titleId, title, closeLabel, onClose, children }) {
  return (
    <section className="panel" aria-labelledby={titleId} onKeyDown={(e) => { if (e.key === 'Escape') onClose(); }}>
      <header className="room-head">
        <button type="button" className="icon-button" onClick={onClose} aria-label={closeLabel}>
          <BackIcon />
        </button>
        <h1 id={titleId}>{title}</h1>
      </header>
      {children}
    </section>
  );
}
