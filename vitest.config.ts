import { defineConfig } from "vitest/config";

// Two projects: `unit` needs nothing but Node; `integration` drives the real parts
// (the fleet engine, Toxiproxy, the Docker engine) and runs its files one at a time.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["harness/**/*.test.ts", "scripts/**/*.test.ts"],
          exclude: ["**/*.int.test.ts", "node_modules/**"],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: "integration",
          include: ["harness/**/*.int.test.ts"],
          exclude: ["node_modules/**"],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          fileParallelism: false,
          globalSetup: ["harness/lab/testing/global-setup.ts"],
        },
      },
    ],
  },
});
