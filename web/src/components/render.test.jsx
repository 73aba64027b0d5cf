// Rendering checks that need no browser: message text is text, whatever it
// contains, and no component writes HTML.

import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { MessageList, MessageText } from './MessageList.jsx';
import { Sidebar } from './Sidebar.jsx';
import { Login } from './Login.jsx';
import { chatReducer, initialState } from '../chat/state.js';

const XSS = '<img src=x onerror=alert(1)>';

function chatState() {
  return [
    { type: 'rooms/loaded', rooms: [{ id: '0', names: ['General'] }, { id: '1:2', names: ['Pablo', '<b>Joe</b>'] }] },
    { type: 'users/merged', users: { 2: { id: '2', username: '<b>Joe</b>', online: true } } },
    { type: 'messages/page', roomId: '0', size: 30, kind: 'newest', messages: [
      { id: '2', from: '2', date: 1_700_000_100, message: XSS, roomId: '0' },
      { id: '1', from: '1', date: 1_700_000_000, message: 'see https://example.com & <script>alert(2)</script>', roomId: '0' },
    ] },
    { type: 'room/opened', roomId: '0' },
  ].reduce(chatReducer, initialState({ id: '1', username: 'Pablo' }, {}, 1_699_000_000));
}

describe('message text', () => {
  it('escapes markup instead of rendering it', () => {
    const html = renderToStaticMarkup(<MessageText text={XSS} />);
    expect(html).toBe('<p class="msg-text">&lt;img src=x onerror=alert(1)&gt;</p>');
  });

  it('links only http(s) URLs, and the rest stays text', () => {
    const html = renderToStaticMarkup(<MessageText text={'go https://example.com/?a=1&b=2 or javascript:alert(1)'} />);
    expect(html).toContain('<a href="https://example.com/?a=1&amp;b=2" target="_blank" rel="noopener noreferrer nofollow">');
    expect(html).toContain('or javascript:alert(1)</p>');
    expect(html.match(/<a /g)).toHaveLength(1);
  });

  it('keeps a whole room safe: names and messages as text', () => {
    const s = chatState();
    const html = renderToStaticMarkup(
      <>
        <MessageList room={s.rooms['0']} title="General" isPrivate={false} meId="1" users={s.users}
          onLoadOlder={() => {}} onReload={() => {}} onRetry={() => {}} onDiscard={() => {}} nowMs={1_700_000_200_000} />
        <Sidebar state={s} onOpenRoom={() => {}} onOpenPerson={() => {}} onSignOut={() => {}} nowMs={1_700_000_200_000} />
      </>,
    );
    expect(html).not.toMatch(/<img|<script|<b>/);
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('&lt;script&gt;alert(2)&lt;/script&gt;');
    expect(html).toContain('&lt;b&gt;Joe&lt;/b&gt;');
  });
});

describe('the source', () => {
  it('never writes HTML', () => {
    const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
    const offenders = [];
    const walk = (dir) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (/\.jsx?$/.test(e.name) && !/\.test\.jsx?$/.test(e.name)) {
          if (/dangerouslySetInnerHTML|\.innerHTML|outerHTML|insertAdjacentHTML|document\.write/.test(readFileSync(p, 'utf8'))) {
            offenders.push(path.relative(root, p));
          }
        }
      }
    };
    walk(root);
    expect(offenders).toEqual([]);
  });
});

describe('sign-in screen', () => {
  it('offers two distinct forms: "Sign in" (selected first) and "Create account"', () => {
    const html = renderToStaticMarkup(<Login onSignedIn={() => {}} />);
    expect(html).toContain('role="tablist"');
    expect(html).toMatch(/<button[^>]*role="tab"[^>]*aria-selected="true"[^>]*>Sign in<\/button>/);
    expect(html).toMatch(/<button[^>]*role="tab"[^>]*aria-selected="false"[^>]*>Create account<\/button>/);
    expect(html).toMatch(/<button class="button primary" type="submit">Sign in<\/button>/);
    expect(html).toContain('autoComplete="current-password"');
  });
});
