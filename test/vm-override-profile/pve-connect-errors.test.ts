// connectPve reads the token file (and CA file) before anything is sent: a file the system cannot give
// is one clear UserError naming it; any other failure of the reader is a bug and propagates as is.
import { describe, expect, it } from "vitest";
import { connectPve } from "../../src/commands/pve-connect.ts";
import { UserError } from "../../src/util/errors.ts";

const OPTS = { api: "https://127.0.0.1:8006", tokenFile: "/root/.config/vgpuctl/token" };

describe("connectPve: reading the token file", () => {
  it("an errno failure (EACCES) is a UserError naming the file and the code", async () => {
    const readLocalFile = async () => {
      throw Object.assign(new Error("EACCES: permission denied"), { code: "EACCES" });
    };
    const err = await connectPve(OPTS, { readLocalFile }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toBe(
      `cannot read the token file ${OPTS.tokenFile} (EACCES); nothing was sent`,
    );
  });

  it("a failure without an errno code (a bug in the reader) propagates unchanged", async () => {
    const bug = new TypeError("Cannot read properties of undefined (reading 'toString')");
    const readLocalFile = async () => {
      throw bug;
    };
    await expect(connectPve(OPTS, { readLocalFile })).rejects.toBe(bug);
  });
});
