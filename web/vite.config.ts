// Vite builds the web client into web/dist, which the Portal server serves at `/` (portal/web.py).
// JSX goes through Preact (tsconfig's jsxImportSource); no framework plugin is needed for a production build.
import { defineConfig } from "vite";

export default defineConfig({
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    // One CSS file and a JS entry; no inline <script>/<style> so the strict CSP holds.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
  server: {
    // `npm run dev` talks to a Portal server on :8080 (make run).
    proxy: {
      "/v1": "http://127.0.0.1:8080",
      "/socket.io": { target: "ws://127.0.0.1:8080", ws: true },
    },
  },
});
