// A group's members with their presence, inviting someone, and leaving.

import { useEffect, useState } from 'react';
import { people } from '../chat/state.js';
import { Avatar } from './Avatar.jsx';

export function MembersPanel({ state, room, client, onClose }) {
  const [error, setError] = useState(null);
  const [invitee, setInvitee] = useState('');
  const [busy, setBusy] = useState(false);
  const memberIds = room.group?.members || [];
  const members = memberIds
    .map((id) => state.users[id] || { id, username: '', online: false })
    .sort((a, b) => Number(b.online) - Number(a.online) || (a.username || '').localeCompare(b.username || ''));
  const candidates = people(state).filter((u) => !memberIds.includes(u.id));

  useEffect(() => {
    client.loadMembers(room.id).catch((e) => setError(`Could not load the members: ${e.message}`));
  }, [client, room.id]);

  async function run(fn) {
    setBusy(true);
    setError(null);
    try {
      await fn();
    } catch (e) {
      setError(e.message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <aside className="members-panel" aria-labelledby="members-heading">
      <header className="panel-head">
        <h2 className="section-title" id="members-heading">
          Members <span className="section-count">{members.filter((m) => m.online).length} online</span>
        </h2>
        <button type="button" className="link-button" onClick={onClose}>Close</button>
      </header>
      {error && <p className="form-error" role="alert">{error}</p>}
      <ul className="member-list">
        {members.map((u) => (
          <li key={u.id} className="member" data-user-id={u.id} data-online={u.online ? 'true' : 'false'}>
            <Avatar name={u.username || '?'} size="sm" online={Boolean(u.online)} />
            <span className="item-name">{u.id === state.me.id ? `${u.username} (you)` : (u.username || 'Someone')}</span>
            <span className={`person-status ${u.online ? 'is-online' : ''}`}>{u.online ? 'Online' : 'Offline'}</span>
          </li>
        ))}
      </ul>
      <form
        className="invite-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (invitee) run(async () => { await client.addMember(room.id, invitee); setInvitee(''); });
        }}
      >
        <label htmlFor="invite-select">Invite</label>
        <select id="invite-select" value={invitee} onChange={(e) => setInvitee(e.target.value)}>
          <option value="">Pick someone…</option>
          {candidates.map((u) => <option key={u.id} value={u.id}>{u.username}</option>)}
        </select>
        <button type="submit" className="button primary" disabled={!invitee || busy}>Invite</button>
      </form>
      <button
        type="button"
        className="button subtle danger leave-button"
        disabled={busy}
        onClick={() => run(() => client.leaveGroup(room.id))}
      >
        Leave group
      </button>
    </aside>
  );
}
