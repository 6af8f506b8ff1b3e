import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { terminalConfirm } from "../../src/cli/context.ts";
import { main } from "../../src/cli/main.ts";
import { colorsFor, terminalSafe } from "../../src/cli/output.ts";

// issue 13 item 12: escape sequences in host data (a VM name, a bundle's `host`) must not reach the
// terminal raw. ESC [ 2 J clears the screen (ECMA-48 ED), ESC ] 0 ; … BEL sets the window title (xterm OSC 0).
const CLEAR = "\x1b[2J";
const TITLE = "\x1b]0;owned\x07";

describe("terminalSafe", () => {
  it("shows every control character, keeps newline and tab", () => {
    expect(terminalSafe(`a${CLEAR}b${TITLE}\tc\r\n\x9b\u202e`, false)).toBe(
      "a\\x1b[2Jb\\x1b]0;owned\\x07\tc\\x0d\n\\x9b\\u{202e}",
    );
  });

  it("with colours on keeps vgpuctl's own colour codes, and only those", () => {
    const c = colorsFor({ isTTY: true }, { FORCE_COLOR: "1" });
    const own = c.red(c.bold("error:"));
    expect(terminalSafe(`${own} x`, true)).toBe(`${own} x`);
    expect(terminalSafe("\x1b[8mhidden\x1b[0m", true)).toBe("\\x1b[8mhidden\x1b[0m");
    expect(terminalSafe(`${CLEAR}`, true)).toBe("\\x1b[2J");
  });
});

describe("the apply/uninstall question", () => {
  it("shows a host name's escape sequences visibly", async () => {
    const input = Object.assign(new PassThrough(), { isTTY: true });
    const output = new PassThrough();
    let shown = "";
    output.on("data", (b: Buffer) => {
      shown += b.toString();
    });
    const ask = terminalConfirm(input, output)!;
    const answer = ask(`Apply on pve${CLEAR} (3 step(s))? [y/N] `);
    input.write("y\n");
    expect(await answer).toBe(true);
    expect(shown).toContain("Apply on pve\\x1b[2J (3 step(s))?");
    expect(shown).not.toContain(CLEAR);
  });
});

describe("human output of inspect, vm list and doctor (a bundle with ESC sequences)", () => {
  let tmp: string;
  let bundle: string;
  const env = () => ({ VGPUCTL_SIM_DIR: join(tmp, "sim"), NO_COLOR: "1" });

  async function cli(args: string[], e: NodeJS.ProcessEnv = env()): Promise<{ out: string; err: string }> {
    let out = "";
    let err = "";
    await main(["node", "vgpuctl", ...args], {
      out: (s) => {
        out += s;
      },
      err: (s) => {
        err += s;
      },
      env: e,
      colors: colorsFor({ isTTY: false }, e),
    });
    return { out, err };
  }

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), "vgpuctl-tsafe-"));
    bundle = join(tmp, "b");
    await cli(["--host", "sim:seed-configured", "support-bundle", "-o", bundle]);
    const metaPath = join(bundle, "bundle.json");
    const meta = JSON.parse(readFileSync(metaPath, "utf8")) as { host: string };
    meta.host = `pve${TITLE}${CLEAR}`;
    writeFileSync(metaPath, JSON.stringify(meta));
    const conf = join(bundle, "files/etc/pve/qemu-server/100.conf");
    writeFileSync(conf, readFileSync(conf, "utf8").replace(/^name: .*$/m, `name: win${CLEAR}${TITLE}`));
  }, 60_000);
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  for (const command of [["inspect"], ["vm", "list"], ["doctor"]]) {
    it(`${command.join(" ")} prints no ESC, and shows the names visibly`, async () => {
      const { out, err } = await cli(["--host", `bundle:${bundle}`, ...command]);
      expect(`${out}${err}`).not.toMatch(/[\x1b\x07]/);
      expect(out).toContain("pve\\x1b]0;owned\\x07\\x1b[2J");
      if (command[0] !== "doctor") expect(out).toContain("win\\x1b[2J\\x1b]0;owned\\x07");
    });
  }

  it("--json keeps the data exact (JSON escapes it; nothing is rewritten)", async () => {
    const { out } = await cli(["--host", `bundle:${bundle}`, "--json", "vm", "list"]);
    expect(out).not.toMatch(/\x1b/);
    expect(JSON.stringify(JSON.parse(out))).toContain(JSON.stringify(`win${CLEAR}${TITLE}`).slice(1, -1));
  });
});
