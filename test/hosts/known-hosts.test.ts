import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  fingerprint,
  hostFieldMatches,
  keyBlobType,
  parseKnownHosts,
  preferredHostKeyAlgorithms,
  verifyHostKey,
} from "../../src/hosts/ssh/known-hosts.ts";

// Keys generated with `ssh-keygen -t ed25519` / `-t ecdsa`; the hashed entry is the output of
// `ssh-keygen -H` (OpenSSH 9.2) for "[127.0.0.1]:2222" with the ED25519 key below.
const ED25519 = "AAAAC3NzaC1lZDI1NTE5AAAAIKQ5pdYxQzo1MfzPl37J2Gdgj9pZ5oR1RDZ5fLeCUwDF";
const ED25519_OTHER = "AAAAC3NzaC1lZDI1NTE5AAAAIL2KwMhD44l+hIUdXAL/xrSTZqf+RYjJ5gDNX++jI12r";
const HASHED_2222 = "|1|Sv8d1Rhn+XDJhBLobxveKCQ1fVc=|sw9+y3unT/VSGHS6WeKjU7zyalw=";
const blob = (b64: string) => Buffer.from(b64, "base64");

function ecdsaKey(): string {
  const dir = mkdtempSync(join(tmpdir(), "vgpuctl-kh-"));
  try {
    execFileSync("ssh-keygen", ["-q", "-t", "ecdsa", "-N", "", "-f", join(dir, "k")]);
    return execFileSync("cat", [join(dir, "k.pub")], { encoding: "utf8" }).split(" ")[1]!;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("known_hosts", () => {
  it("parses plain, [host]:port, hashed and marker lines, skipping junk", () => {
    const e = parseKnownHosts(
      [
        "# comment",
        `pve1,10.0.0.5 ssh-ed25519 ${ED25519} root@pve1`,
        `[pve2]:2222 ssh-ed25519 ${ED25519}`,
        `${HASHED_2222} ssh-ed25519 ${ED25519}`,
        `@revoked * ssh-ed25519 ${ED25519_OTHER}`,
        "@cert-authority *.lan ssh-ed25519 AAAA",
        "garbage line",
        "@weird host ssh-ed25519 AAAA",
        "",
      ].join("\n"),
    );
    expect(e.map((x) => [x.marker, x.hosts, x.line])).toEqual([
      [null, "pve1,10.0.0.5", 2],
      [null, "[pve2]:2222", 3],
      [null, HASHED_2222, 4],
      ["revoked", "*", 5],
      ["cert-authority", "*.lan", 6],
    ]);
    expect(keyBlobType(e[0]!.key)).toBe("ssh-ed25519");
  });

  it("matches host fields like OpenSSH", () => {
    expect(hostFieldMatches("pve1,10.0.0.5", "10.0.0.5", 22)).toBe(true);
    expect(hostFieldMatches("pve1,10.0.0.5", "10.0.0.5", 2222)).toBe(false); // plain names mean port 22
    expect(hostFieldMatches("[pve2]:2222", "pve2", 2222)).toBe(true);
    expect(hostFieldMatches("[pve2]:2222", "pve2", 22)).toBe(false);
    expect(hostFieldMatches("*.lan,!bad.lan", "pve3.lan", 22)).toBe(true);
    expect(hostFieldMatches("*.lan,!bad.lan", "bad.lan", 22)).toBe(false);
    expect(hostFieldMatches("PVE1", "pve1", 22)).toBe(true);
    expect(hostFieldMatches(HASHED_2222, "127.0.0.1", 2222)).toBe(true);
    expect(hostFieldMatches(HASHED_2222, "127.0.0.1", 2223)).toBe(false);
    expect(hostFieldMatches("|1|broken", "127.0.0.1", 2222)).toBe(false);
  });

  it("verifies: known, unknown, changed (same type, other key), revoked", () => {
    const ecdsa = ecdsaKey();
    const entries = parseKnownHosts(
      [
        `${HASHED_2222} ssh-ed25519 ${ED25519}`,
        `[10.0.0.9]:22 ssh-ed25519 ${ED25519}`,
        `@revoked * ssh-ed25519 ${ED25519_OTHER}`,
      ].join("\n"),
    );
    expect(verifyHostKey(entries, "127.0.0.1", 2222, blob(ED25519)).kind).toBe("known");
    expect(verifyHostKey(entries, "127.0.0.1", 2222, blob(ecdsa)).kind).toBe("unknown"); // other type: not known
    expect(verifyHostKey(entries, "pve9", 22, blob(ED25519)).kind).toBe("unknown");
    expect(verifyHostKey(entries, "127.0.0.1", 2222, blob(ED25519_OTHER)).kind).toBe("revoked");
    const noRevoked = entries.filter((e) => e.marker === null);
    const changed = verifyHostKey(noRevoked, "127.0.0.1", 2222, blob(ED25519_OTHER));
    expect(changed.kind).toBe("changed");
    expect(changed.kind === "changed" && changed.entries.map((e) => e.line)).toEqual([1]);
    expect(preferredHostKeyAlgorithms(entries, "127.0.0.1", 2222)).toEqual(["ssh-ed25519"]);
    expect(preferredHostKeyAlgorithms(parseKnownHosts(`h ssh-ed25519 ${ecdsa}`), "h", 22)).toEqual([
      "ecdsa-sha2-nistp256",
    ]);
  });

  it("prints the same SHA256 fingerprint as ssh-keygen -lf", () => {
    const dir = mkdtempSync(join(tmpdir(), "vgpuctl-kh-"));
    try {
      writeFileSync(join(dir, "k.pub"), `ssh-ed25519 ${ED25519} test\n`);
      const out = execFileSync("ssh-keygen", ["-lf", join(dir, "k.pub")], { encoding: "utf8" });
      expect(out.split(" ")[1]).toBe(fingerprint(blob(ED25519)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
