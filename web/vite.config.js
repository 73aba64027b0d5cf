// Vite builds the app into dist/ (chatd's WEB_ROOT); hashed files go under
// dist/assets/, which chatd serves as immutable.  `npm run dev` serves the app
// with hot reload and forwards the API and Socket.IO to a chatd on :8000
// (`make run`), so the browser still sees one origin.
import { defineConfig } from 'vite';

const CHATD = process.env.CHATD_URL || 'http://127.0.0.1:8000';
const api = ['/me', '/login', '/logout', '/users', '/rooms', '/room', '/links', '/randomname', '/healthz'];

export default defineConfig({
  // The components use React's automatic JSX runtime (no `import React`);
  // Vite 5 compiles JSX with esbuild, whose default is React.createElement.
  esbuild: { jsx: 'automatic' },
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    emptyOutDir: true,
    target: 'es2020',
    sourcemap: false,
  },
  server: {
    proxy: {
      ...Object.fromEntries(api.map((p) => [p, { target: CHATD, changeOrigin: false }])),
      '/socket.io': { target: CHATD, ws: true, changeOrigin: false },
    },
  },
  test: {
    environment: 'node',
    include: ['src/**/*.test.{js,jsx}'],
  },
});
