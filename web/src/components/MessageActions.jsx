// What one can do with a stored message: react (anyone), edit and delete (its
// sender).  Shown on hover or focus; on touch, a long press (contextmenu)
// selects the message and shows them.

export function MessageActions({ mine, onReact, onEdit, onDelete }) {
  return (
    <div className="msg-actions" role="toolbar" aria-label="Message actions">
      <button type="button" className="msg-action" onClick={onReact} aria-label="Add reaction" title="React">☺</button>
      {mine && (
        <>
          <button type="button" className="msg-action" onClick={onEdit} aria-label="Edit message" title="Edit">✎</button>
          <button type="button" className="msg-action" onClick={onDelete} aria-label="Delete message" title="Delete">🗑</button>
        </>
      )}
    </div>
  );
}

export function DeleteConfirm({ onConfirm, onCancel }) {
  return (
    <div className="msg-state msg-confirm" role="alertdialog" aria-label="Delete this message?">
      <span>Delete this message?</span>
      <button type="button" className="link-button danger" onClick={onConfirm} autoFocus>Delete</button>
      <button type="button" className="link-button" onClick={onCancel}>Cancel</button>
    </div>
  );
}
