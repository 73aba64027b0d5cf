// The public groups: open one we are in, or join one.

import { useEffect, useState } from 'react';
import { Avatar } from './Avatar.jsx';
import { Panel } from './Panel.jsx';

export function PublicRooms({ state, client, onOpen, onCancel }) {
  const [list, setList] = useState(null);
  const [error, setError] = useState(null);

  useEffect(() => {
    let live = true;
    client.publicRooms()
      .then((rooms) => { if (live) setList(rooms || []); })
      .catch((e) => { if (live) setError(`Could not load the public groups: ${e.message}`); });
    return () => { live = false; };
  }, [client]);

  async function join(id) {
    setError(null);
    try {
      await client.joinGroup(id);
      onOpen(id);
    } catch (e) {
      setError(`Could not join: ${e.message}`);
    }
  }

  return (
    <Panel titleId="public-title" title="Public groups" closeLabel="Back" onClose={onCancel}>
      <div className="panel-body">
        {error && <p className="form-error" role="alert">{error}</p>}
        {list === null && !error && <p className="section-empty">Loading…</p>}
        {list && list.length === 0 && <p className="section-empty">No public groups yet.</p>}
        {list && list.length > 0 && (
          <ul className="public-list">
            {list.map((g) => {
              const member = Boolean(state.rooms[String(g.id)]);
              return (
                <li key={g.id} className="public-room" data-room-id={g.id}>
                  <Avatar name={g.name} group size="sm" />
                  <span className="item-name">{g.name}</span>
                  <span className="section-count">{g.memberCount} {g.memberCount === 1 ? 'member' : 'members'}</span>
                  {member ? (
                    <button type="button" className="button subtle" onClick={() => onOpen(String(g.id))}>Open</button>
                  ) : (
                    <button type="button" className="button primary" onClick={() => join(String(g.id))} aria-label={`Join ${g.name}`}>Join</button>
                  )}
                </li>
              );
            })}
          </ul>
        )}
      </div>
    </Panel>
  );
}
