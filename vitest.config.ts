import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // e2e tests spawn the built CLI and sshd; 2-core machines: keep parallelism modest.
    maxWorkers: 2,
  },
});
