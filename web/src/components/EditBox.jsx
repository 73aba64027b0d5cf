// Editing a message in place: Enter saves, Shift+Enter a new line, Escape cancels.

import { useEffect, useRef, useState } from 'react';

export function EditBox({ initial, onSave, onCancel }) {
  const [text, setText] = useState(initial);
  const box = useRef(null);
  useEffect(() => {
    const el = box.current;
    el.focus();
    el.setSelectionRange(el.value.length, el.value.length);
  }, []);

  function keyDown(e) {
    if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      onCancel();
    } else if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      const t = text.replace(/\s+$/u, '');
      if (!t.trim()) return;
      if (t === initial) onCancel();
      else onSave(t);
    }
  }

  return (
    <div className="edit-box">
      <label className="sr-only" htmlFor="edit-input">Edit message</label>
      <textarea id="edit-input" ref={box} rows={2} value={text} onChange={(e) => setText(e.target.value)} onKeyDown={keyDown} />
      <p className="composer-hint"><kbd>Enter</kbd> to save, <kbd>Esc</kbd> to cancel</p>
    </div>
  );
}
