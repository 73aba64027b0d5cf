import { describe, expect, it } from 'vitest';
import { buildTimeline, dayLabel, hueOf, initials, linkify, shortWhen } from './timeline.js';

// Local-time instants, so the tests hold in every time zone.
const at = (y, mo, d, h = 12, mi = 0) => new Date(y, mo - 1, d, h, mi).getTime();
const sec = (ms) => Math.floor(ms / 1000);
const NOW = at(2024, 3, 14, 15, 30); // a Thursday afternoon

function entry(key, from, ms, status = 'sent') {
  return { key, from, date: sec(ms), message: key, status };
}

describe('day labels', () => {
  it('says Today, Yesterday, a weekday, then a date', () => {
    expect(dayLabel(sec(at(2024, 3, 14, 0, 1)), NOW, 'en-GB')).toBe('Today');
    expect(dayLabel(sec(at(2024, 3, 13, 23, 59)), NOW, 'en-GB')).toBe('Yesterday');
    expect(dayLabel(sec(at(2024, 3, 11)), NOW, 'en-GB')).toBe('Monday');
    expect(dayLabel(sec(at(2024, 2, 1)), NOW, 'en-GB')).toBe('1 February');
    expect(dayLabel(sec(at(2023, 12, 25)), NOW, 'en-GB')).toBe('25 December 2023');
  });

  it('shortens for the room list', () => {
    expect(shortWhen(sec(at(2024, 3, 13)), NOW, 'en-GB')).toBe('Yesterday');
    expect(shortWhen(sec(at(2024, 3, 11)), NOW, 'en-GB')).toBe('Mon');
    expect(shortWhen(sec(at(2024, 1, 5)), NOW, 'en-GB')).toBe('5 Jan');
    expect(shortWhen(sec(at(2024, 3, 14, 9, 5)), NOW, 'en-GB')).toMatch(/09:05/);
  });
});

describe('timeline', () => {
  it('puts a separator before each day and groups runs of one sender', () => {
    const rows = buildTimeline([
      entry('a', '2', at(2024, 3, 13, 10, 0)),
      entry('b', '2', at(2024, 3, 13, 10, 1)),   // same run
      entry('c', '1', at(2024, 3, 13, 10, 2)),   // new sender
      entry('d', '1', at(2024, 3, 13, 10, 20)),  // same sender, long pause: new run
      entry('e', '1', at(2024, 3, 14, 9, 0)),    // new day: new run
      entry('f', '1', at(2024, 3, 14, 9, 0), 'pending'),
    ], '1', NOW, 'en-GB');
    expect(rows.map((r) => (r.kind === 'day' ? `[${r.label}]` : `${r.key}${r.first ? '*' : ''}${r.mine ? 'm' : ''}`)))
      .toEqual(['[Yesterday]', 'a*', 'b', 'c*m', 'd*m', '[Today]', 'e*m', 'fm']);
  });

  it('keeps unsent messages in the day of the message before them', () => {
    const rows = buildTimeline([entry('a', '1', at(2024, 3, 14, 9)), { ...entry('p', '1', 0, 'pending') }], '1', NOW, 'en-GB');
    expect(rows.filter((r) => r.kind === 'day')).toHaveLength(1);
  });
});

describe('links', () => {
  it('finds http(s) links and leaves everything else as text', () => {
    expect(linkify('see https://example.com/a?b=1, then http://x.y.')).toEqual([
      { text: 'see ' },
      { text: 'https://example.com/a?b=1', href: 'https://example.com/a?b=1' },
      { text: ', then ' },
      { text: 'http://x.y', href: 'http://x.y' },
      { text: '.' },
    ]);
    expect(linkify('javascript:alert(1) <a href="https://evil">x</a>').filter((p) => p.href))
      .toEqual([{ text: 'https://evil', href: 'https://evil' }]);
    expect(linkify('')).toEqual([]);
  });
});

describe('avatars', () => {
  it('makes initials from names', () => {
    expect(initials('Pablo')).toBe('P');
    expect(initials('mary ann')).toBe('MA');
    expect(initials('joe_smith')).toBe('JS');
    expect(initials('élodie')).toBe('É');
    expect(initials('')).toBe('?');
    expect(initials('😀x')).toBe('😀');
  });

  it('gives a name the same hue every time', () => {
    expect(hueOf('Joe')).toBe(hueOf('Joe'));
    expect(hueOf('Joe')).not.toBe(hueOf('Mary'));
    expect(hueOf('Joe')).toBeGreaterThanOrEqual(0);
    expect(hueOf('Joe')).toBeLessThan(360);
  });
});
