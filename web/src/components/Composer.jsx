import { useEffect, useLayoutEffect, useRef, useState } from 'react';
import { SendIcon } from './icons.jsx';

export const MAX_MESSAGE_BYTES = 4096; // chatd's default MAX_MESSAGE_BYTES
const MAX_HEIGHT_PX = 160;             // the box grows with its text up to this

const encoder = new TextEncoder();

/** The message box: Enter sends, Shift+Enter starts a new line. */
export function Composer({ roomTitle, draft, onDraft, onSend, onTyping, onEditLast, autoFocus }) {
  const [text, setText] = useState(draft || '');
  const box = useRef(null);
  const bytes = encoder.encode(text).length;
  const tooLong = bytes > MAX_MESSAGE_BYTES;
  const blank = text.trim() === '';

  useLayoutEffect(() => {
    const el = box.current;
    el.style.height = 'auto';
    el.style.height = `${Math.min(el.scrollHeight, MAX_HEIGHT_PX)}px`;
  }, [text]);

  useEffect(() => {
    if (autoFocus) box.current.focus();
  }, [autoFocus]);

  function change(value) {
    setText(value);
    onDraft(value);
    if (value) onTyping();
  }

  function send() {
    if (blank || tooLong) return;
    // Trailing blank lines are an accident of typing, not part of the message.
    onSend(text.replace(/\s+$/u, ''));
    change('');
  }

  function keyDown(e) {
    // ↑ in an empty box edits our last message, as in most chats.
    if (e.key === 'ArrowUp' && text === '' && !e.shiftKey && onEditLast?.()) {
      e.preventDefault();
      return;
    }
    // isComposing: Enter that confirms an IME composition (Japanese, Chinese…) is not "send".
    if (e.key === 'Enter' && !e.shiftKey && !e.altKey && !e.ctrlKey && !e.metaKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      send();
    }
  }

  return (
    <form className="composer" onSubmit={(e) => { e.preventDefault(); send(); }}>
      <label className="sr-only" htmlFor="composer-input">Message {roomTitle}</label>
      <div className={`composer-box${tooLong ? ' is-invalid' : ''}`}>
        <textarea
          id="composer-input"
          ref={box}
          rows={1}
          value={text}
          placeholder={`Message ${roomTitle}`}
          onChange={(e) => change(e.target.value)}
          onKeyDown={keyDown}
          enterKeyHint="send"
          aria-describedby="composer-hint"
          aria-invalid={tooLong ? 'true' : undefined}
        />
        <button type="submit" className="send-button" disabled={blank || tooLong} aria-label="Send message" title="Send">
          <SendIcon />
        </button>
      </div>
      <p className="composer-hint" id="composer-hint">
        {tooLong
          ? `Too long: ${bytes} of ${MAX_MESSAGE_BYTES} bytes.`
          : <><kbd>Enter</kbd> to send, <kbd>Shift</kbd>+<kbd>Enter</kbd> for a new line</>}
      </p>
    </form>
  );
}
