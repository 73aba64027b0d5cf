// Inline icons (no icon font, no requests).  All decorative: the controls
// that use them carry their own labels.

const base = {
  width: 20, height: 20, viewBox: '0 0 24 24', fill: 'none', stroke: 'currentColor',
  strokeWidth: 2, strokeLinecap: 'round', strokeLinejoin: 'round', 'aria-hidden': true, focusable: 'false',
};

export const SendIcon = () => (
  <svg {...base}><path d="M4 12 20 4l-4 16-4-7-8-1Z" /><path d="m12 13 8-9" /></svg>
);
export const BackIcon = () => (
  <svg {...base}><path d="m15 18-6-6 6-6" /></svg>
);
export const SignOutIcon = () => (
  <svg {...base}><path d="M15 4h3a2 2 0 0 1 2 2v12a2 2 0 0 1-2 2h-3" /><path d="m10 17-5-5 5-5" /><path d="M5 12h12" /></svg>
);
export const Logo = ({ size = 28 }) => (
  <svg width={size} height={size} viewBox="0 0 32 32" aria-hidden="true" focusable="false">
    <rect width="32" height="32" rx="9" fill="var(--accent)" />
    <path d="M9 11.5A3.5 3.5 0 0 1 12.5 8h7A3.5 3.5 0 0 1 23 11.5v5a3.5 3.5 0 0 1-3.5 3.5H15l-4.2 3.4c-.5.4-1.3 0-1.3-.6V20.3A3.5 3.5 0 0 1 9 17Z" fill="#fff" />
    <circle cx="13" cy="14" r="1.3" fill="var(--accent)" />
    <circle cx="16" cy="14" r="1.3" fill="var(--accent)" />
    <circle cx="19" cy="14" r="1.3" fill="var(--accent)" />
  </svg>
);
