// Test-only build: the client's crypto as one script exposing `window.PortalCrypto`, so the interop test
// (tests/web/test_crypto_interop.py) runs the very code the app ships in a real Chromium against PyNaCl.
// Never part of web/dist: the test builds it into a temporary folder (PORTAL_CRYPTO_OUT).
import { defineConfig } from "vite";

export default defineConfig({
  build: {
    outDir: process.env["PORTAL_CRYPTO_OUT"] ?? "dist-crypto",
    emptyOutDir: true,
    target: "es2022",
    lib: { entry: "src/lib/crypto/e2ee.ts", name: "PortalCrypto", formats: ["iife"], fileName: () => "crypto.js" },
  },
});
