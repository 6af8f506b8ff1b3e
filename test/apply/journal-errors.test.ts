// Reading the journal and the boot id: an expected absence is a default, every other failure is an
// error the user sees (the brief's "errors are never swallowed"). Hosts: `local --root DIR` on a temp
// dir, wrapped where a test needs a read to fail the way LocalHost.readFile fails (a UserError naming
// the errno) — running as root, chmod 000 would not make the file unreadable.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  BOOT_ID_PATH,
  emptyJournal,
  JOURNAL_PATH,
  loadJournal,
  readBootId,
} from "../../src/apply/journal.ts";
import type { Host } from "../../src/hosts/host.ts";
import { LocalHost } from "../../src/hosts/local-host.ts";
import { NotCapturedError, UserError } from "../../src/util/errors.ts";
import { failingRead } from "../helpers/failing-host.ts";

const roots: string[] = [];
afterEach(() => {
  while (roots.length) rmSync(roots.pop()!, { recursive: true, force: true });
});

function localHost(): Host {
  const root = mkdtempSync(join(tmpdir(), "vgpuctl-journal-"));
  roots.push(root);
  return new LocalHost({ root, spec: "local" });
}

const NOW = new Date("2026-12-03T12:00:00Z");

describe("loadJournal: a bad journal is a UserError naming the file, the line and the fix", () => {
  it("a syntax error on line 3 names journal.json:3", async () => {
    const host = localHost();
    await host.writeFile(JOURNAL_PATH, '{\n  "format": "vgpuctl-journal/1",\n  "entries": [,]\n}\n');
    const err = await loadJournal(host, NOW).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toContain(`${JOURNAL_PATH}:3 on ${host.name} is not valid JSON`);
    expect((err as UserError).hint).toMatch(/repair it .* re-run; the original files are under/);
  });

  it("a journal vgpuctl wrote, damaged deep inside, names the damaged line (excerpt and position forms)", async () => {
    const host = localHost();
    const lines = `${JSON.stringify(emptyJournal(NOW), null, 2)}\n`.split("\n");
    const at = lines.findIndex((l) => l.includes('"entries"'));
    for (const broken of ['  "entries": [}],', '  "entries" [],', '  "entries": [],,']) {
      const text = [...lines.slice(0, at), broken, ...lines.slice(at + 1)].join("\n");
      const err = await loadJournal(host, NOW, text).catch((e: unknown) => e);
      expect((err as Error).message).toMatch(
        new RegExp(`^${JOURNAL_PATH}:${at + 1} on \\S+ is not valid JSON \\([^\\n]+\\)$`),
      );
    }
  });

  it("a truncated journal (the write stopped mid-way) names its last line", async () => {
    const host = localHost();
    await host.writeFile(JOURNAL_PATH, '{\n  "format": "vgpuctl-journal/1",\n  "entries": [\n');
    await expect(loadJournal(host, NOW)).rejects.toThrow(
      `${JOURNAL_PATH}:3 on ${host.name} is not valid JSON`,
    );
  });

  it("valid JSON that is not a journal (null, an array, another format) is refused by name", async () => {
    const host = localHost();
    for (const text of ["null\n", "[]\n", '{"format":"vgpuctl-journal/0"}\n']) {
      await expect(loadJournal(host, NOW, text)).rejects.toThrow(
        `${JOURNAL_PATH} on ${host.name} is not a vgpuctl journal`,
      );
    }
  });

  it("an absent journal is an empty one", async () => {
    const j = await loadJournal(localHost(), NOW);
    expect(j.entries).toEqual([]);
  });
});

describe("readBootId: only 'not captured' means unknown", () => {
  it("a file that cannot be read (EACCES) is an error, not 'no boot id' (= not rebooted yet)", async () => {
    const eacces = new UserError(`cannot read ${BOOT_ID_PATH}: EACCES`);
    const host = failingRead(localHost(), BOOT_ID_PATH, eacces);
    await expect(readBootId(host)).rejects.toBe(eacces);
  });

  it("a bundle that did not capture the boot id gives null", async () => {
    const host = failingRead(localHost(), BOOT_ID_PATH, new NotCapturedError(BOOT_ID_PATH));
    await expect(readBootId(host)).resolves.toBeNull();
  });

  it("reads the id when the host has it", async () => {
    const host = localHost();
    await host.writeFile(BOOT_ID_PATH, "2f1c0e7a-6b0e-4e4f-9d4c-0c3a1f5e9b21\n");
    await expect(readBootId(host)).resolves.toBe("2f1c0e7a-6b0e-4e4f-9d4c-0c3a1f5e9b21");
  });
});
