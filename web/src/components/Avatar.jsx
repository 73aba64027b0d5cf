import { hueOf, initials } from '../chat/timeline.js';

/** A generated avatar: initials on a colour derived from the name, with an
 *  optional presence dot.  Decorative: the name is always written next to it. */
export function Avatar({ name, size = 'md', online, group = false }) {
  return (
    <span
      className={`avatar avatar-${size}${group ? ' avatar-group' : ''}`}
      style={{ '--hue': hueOf(name) }}
      aria-hidden="true"
    >
      {group ? '#' : initials(name)}
      {online !== undefined && <span className={`presence ${online ? 'is-online' : 'is-offline'}`} />}
    </span>
  );
}
