// The one breakpoint: below it the app shows one pane at a time (the list of
// chats, or a room).  styles.css has the same width in its @media rule.
export const NARROW = '(max-width: 720px)';

export const isNarrow = () => typeof matchMedia === 'function' && matchMedia(NARROW).matches;

/** A mouse or trackpad: focusing the composer will not pop up a keyboard. */
export const hasFinePointer = () => typeof matchMedia === 'function' && matchMedia('(pointer: fine)').matches;
