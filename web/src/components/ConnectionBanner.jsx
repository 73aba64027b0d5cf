const TEXT = {
  connecting: 'Connecting…',
  reconnecting: 'Reconnecting…',
};

/** Says when the live connection is down.  The live region is always in the
 *  page, so screen readers announce the text when it appears. */
export function ConnectionBanner({ state }) {
  const text = TEXT[state] || '';
  return (
    <div className="connection" role="status" aria-live="polite">
      {text && <span className={`connection-banner is-${state}`} data-connection={state}>{text}</span>}
    </div>
  );
}
