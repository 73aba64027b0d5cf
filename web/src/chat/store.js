// A minimal external store: the chat client changes state outside React's
// render cycle (socket events, fetch results) and must read the state it just
// wrote, so the state lives here and React subscribes (useSyncExternalStore).

export function createStore(reducer, initial) {
  let state = initial;
  const listeners = new Set();
  return {
    getState: () => state,
    dispatch(action) {
      const next = reducer(state, action);
      if (next === state) return;
      state = next;
      for (const listener of [...listeners]) listener();
    },
    /** Calls listener after every change; returns the unsubscribe function. */
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
