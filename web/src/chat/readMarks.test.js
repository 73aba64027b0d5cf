import { describe, expect, it } from 'vitest';
import { loadReadMarks, saveReadMarks } from './readMarks.js';

function memoryStorage() {
  const m = new Map();
  return { getItem: (k) => (m.has(k) ? m.get(k) : null), setItem: (k, v) => m.set(k, String(v)), m };
}

describe('read marks', () => {
  it('round-trips per user and ignores junk', () => {
    const store = memoryStorage();
    saveReadMarks('1', { __since: 5, 0: 10, '1:2': 20 }, store);
    expect(loadReadMarks('1', store)).toEqual({ __since: 5, 0: 10, '1:2': 20 });
    expect(loadReadMarks('2', store)).toEqual({});
    store.setItem('chatd:read:3', '{not json');
    expect(loadReadMarks('3', store)).toEqual({});
    store.setItem('chatd:read:4', '{"0":"x","1:4":7}');
    expect(loadReadMarks('4', store)).toEqual({ '1:4': 7 });
    expect(loadReadMarks('1', null)).toEqual({});
  });

  it('keeps the most recently read rooms when there are too many', () => {
    const store = memoryStorage();
    const marks = { __since: 1 };
    for (let i = 0; i < 1500; i++) marks[`1:${i + 2}`] = i;
    saveReadMarks('1', marks, store);
    const kept = loadReadMarks('1', store);
    expect(Object.keys(kept)).toHaveLength(1001);
    expect(kept.__since).toBe(1);
    expect(kept['1:1501']).toBe(1499);
    expect(kept['1:2']).toBeUndefined();
  });

  it('survives a full or blocked storage', () => {
    const full = { getItem: () => null, setItem: () => { throw new Error('QuotaExceededError'); } };
    expect(() => saveReadMarks('1', { 0: 1 }, full)).not.toThrow();
  });
});
