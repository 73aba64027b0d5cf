// Creating a group: a name, members picked from the people the app knows, and
// whether anyone may find and join it.

import { useState } from 'react';
import { people } from '../chat/state.js';
import { Avatar } from './Avatar.jsx';
import { Panel } from './Panel.jsx';

export function NewGroup({ state, client, onDone, onCancel }) {
  const [name, setName] = useState('');
  const [picked, setPicked] = useState(() => new Set());
  const [isPublic, setIsPublic] = useState(false);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const everyone = people(state);

  function toggle(id) {
    const next = new Set(picked);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setPicked(next);
  }

  async function submit(e) {
    e.preventDefault();
    if (!name.trim()) return;
    setBusy(true);
    setError(null);
    try {
      const id = await client.createGroup(name.trim(), [...picked], isPublic);
      onDone(id);
    } catch (err) {
      setError(err.message);
      setBusy(false);
    }
  }

  return (
    <Panel titleId="new-group-title" title="New group" closeLabel="Cancel" onClose={onCancel}>
      <form className="panel-body" onSubmit={submit}>
        <label className="field">
          <span>Group name</span>
          <input value={name} maxLength={64} onChange={(e) => setName(e.target.value)} required autoFocus />
        </label>
        <fieldset className="field">
          <legend>Members</legend>
          {everyone.length === 0 && <p className="section-empty">Nobody else known yet.</p>}
          <ul className="pick-list">
            {everyone.map((u) => (
              <li key={u.id}>
                <label className="pick">
                  <input type="checkbox" checked={picked.has(u.id)} onChange={() => toggle(u.id)} />
                  <Avatar name={u.username} size="sm" online={u.online} />
                  <span className="item-name">{u.username}</span>
                </label>
              </li>
            ))}
          </ul>
        </fieldset>
        <label className="pick">
          <input type="checkbox" checked={isPublic} onChange={(e) => setIsPublic(e.target.checked)} />
          <span>Public: anyone can find and join it</span>
        </label>
        {error && <p className="form-error" role="alert">{error}</p>}
        <button type="submit" className="button primary" disabled={busy || !name.trim()}>
          {busy ? 'Creating…' : 'Create group'}
        </button>
      </form>
    </Panel>
  );
}
