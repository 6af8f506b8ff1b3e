// The hidden MOK password prompt (src/cli/secret-prompt.ts): raw mode, nothing echoed, TTY only, not with CI=true;
// apply asks it (twice) only when a step needs the password and neither VGPUCTL_MOK_PASSWORD nor
// --mok-password-file is given.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.ts";
import { mokPasswordPrompt, terminalSecret } from "../../src/cli/secret-prompt.ts";
import { tempStateDir } from "../sim/helpers.ts";

/** A terminal stand-in: keys typed into `input`, what the program writes collected from `output`. */
function fakeTty(isTTY = true) {
  const input = Object.assign(new PassThrough(), { isTTY, raw: [] as boolean[] });
  const tty = Object.assign(input, { setRawMode: (r: boolean) => input.raw.push(r) });
  const output = new PassThrough();
  let shown = "";
  output.on("data", (d) => (shown += d.toString()));
  return { tty, output, shown: () => shown };
}

describe("terminalSecret: a hidden prompt", () => {
  it("returns what was typed (backspace erases), echoes nothing but the prompt and a newline, raw mode on then off", async () => {
    const t = fakeTty();
    const ask = terminalSecret(t.tty, t.output, {})!;
    const answer = ask("Password: ");
    t.tty.write("s3cX\u007fret\r");
    expect(await answer).toBe("s3cret");
    expect(t.shown()).toBe("Password: \n");
    expect(t.tty.raw).toEqual([true, false]);
  });

  it("Ctrl-C cancels with a user error; raw mode is left", async () => {
    const t = fakeTty();
    const answer = terminalSecret(t.tty, t.output, {})!("Password: ");
    t.tty.write("ab\u0003");
    await expect(answer).rejects.toThrow("cancelled at the password prompt");
    expect(t.tty.raw).toEqual([true, false]);
  });

  it("no prompt without a terminal, or with CI=true", () => {
    expect(terminalSecret(fakeTty(false).tty, new PassThrough(), {})).toBeUndefined();
    expect(terminalSecret(fakeTty().tty, new PassThrough(), { CI: "true" })).toBeUndefined();
  });

  it("mokPasswordPrompt asks twice, once per run; two different answers are refused", async () => {
    const asked: string[] = [];
    const same = mokPasswordPrompt(async (p) => {
      asked.push(p);
      return "pw";
    });
    expect(await same()).toBe("pw");
    expect(await same()).toBe("pw");
    expect(asked).toHaveLength(2);
    const answers = ["one", "two"];
    const differ = mokPasswordPrompt(async () => answers.shift()!);
    await expect(differ()).rejects.toThrow("the two MOK passwords differ");
  });
});

describe("apply on sim:secure-boot-on with neither VGPUCTL_MOK_PASSWORD nor --mok-password-file", () => {
  const P4 = ["--host", "sim:secure-boot-on", "-f", "examples/p4-host.yaml", "--yes", "--reboot"];
  const PASSWORD = "Typed-At-The-Prompt-4411";

  it("a terminal: the password is asked (twice) at mok-import, apply verifies, the password is nowhere", async () => {
    const dir = await tempStateDir();
    let out = "";
    const prompts: string[] = [];
    const code = await main(["node", "vgpuctl", "apply", ...P4], {
      out: (s) => (out += s),
      err: (s) => (out += s),
      env: { VGPUCTL_SIM_DIR: dir, NO_COLOR: "1" },
      cwd: join(import.meta.dirname, "../.."),
      askSecret: async (p) => {
        prompts.push(p);
        return PASSWORD;
      },
    });
    expect(code, out).toBe(0);
    expect(prompts).toEqual([
      "One-time MOK password (typed again at the console during the reboot; not stored): ",
      "The MOK password again: ",
    ]);
    expect(out).toContain("Verified: vGPU is working as described.");
    expect(out).not.toContain(PASSWORD);
    for (const f of readdirSync(dir))
      expect(readFileSync(join(dir, f)).toString("latin1")).not.toContain(PASSWORD);
  });

  it("no terminal: today's refusal (mok-password-missing), nothing asked", async () => {
    let err = "";
    const code = await main(["node", "vgpuctl", "apply", ...P4], {
      out: () => {},
      err: (s) => (err += s),
      env: { VGPUCTL_SIM_DIR: await tempStateDir(), NO_COLOR: "1" },
      cwd: join(import.meta.dirname, "../.."),
      askSecret: undefined,
    });
    expect(code).toBe(1);
    expect(err).toContain("[mok-password-missing]");
  });
});
