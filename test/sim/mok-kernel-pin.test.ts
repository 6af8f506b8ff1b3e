// The simulated host's Secure Boot signing (src/hosts/sim/mok.ts) and kernel pinning (kernel-pin.ts) behave
// like the real tools, sources cited there: mokutil (lcp/mokutil), shim's MokManager, dkms framework.conf
// signing (dell/dkms README), "Key was rejected by service" (awesometic/realtek-r8126-dkms#3),
// proxmox-boot-tool kernel pin (proxmox-kernel-helper proxmox-boot/functions, pve admin guide "Host Bootloader").
import { describe, expect, it } from "vitest";
import { openSim, run } from "./helpers.ts";

const CERT = "/var/lib/dkms/mok.pub";
const KEYGEN = `openssl req -new -x509 -newkey rsa:2048 -keyout /var/lib/dkms/mok.key -outform DER -out ${CERT} -nodes -days 36500 -subj /CN=test/`;

describe("MOK enrolment and signed modules (sim:secure-boot-on)", () => {
  it("an unsigned module is rejected; signed by a key queued but not confirmed, still rejected", async () => {
    const h = await openSim("secure-boot-on");
    expect((await run(h, "modprobe nvidia")).stderr).toBe(
      "modprobe: ERROR: could not insert 'nvidia': Key was rejected by service\n",
    );
    expect((await run(h, `mokutil --test-key ${CERT}`)).exitCode).not.toBe(0);
    expect((await run(h, KEYGEN)).exitCode).toBe(0);
    expect((await run(h, `mokutil --test-key ${CERT}`)).stdout).toBe(`${CERT} is not enrolled\n`);
    // a password typed differently the second time is refused, nothing queued
    const bad = await h.exec(["mokutil", "--import", CERT], { input: "one\ntwo\n" });
    expect(bad.exitCode).not.toBe(0);
    expect(bad.stderr).toContain("Password doesn't match");
    const good = await h.exec(["mokutil", "--import", CERT], { input: "pw\npw\n" });
    expect(good.exitCode).toBe(0);
    expect((await run(h, `mokutil --test-key ${CERT}`)).stdout).toBe(
      `${CERT} is already in the enrollment request\n`,
    );
  });

  it("DKMS signs once framework.conf names the key; the module loads after a reboot where the MOK is confirmed", async () => {
    const h = await openSim("secure-boot-on");
    await run(h, KEYGEN);
    const conf = (await h.readFile("/etc/dkms/framework.conf"))!;
    await h.writeFile(
      "/etc/dkms/framework.conf",
      conf.replace(/^# (mok_signing_key|mok_certificate)=/gm, "$1="),
    );
    expect((await run(h, "dkms install -m nvidia -v 535.216.01 -k 6.8.12-4-pve --force")).exitCode).toBe(0);
    await h.exec(["mokutil", "--import", CERT], { input: "pw\npw\n" });
    await h.reboot();
    expect((await run(h, `mokutil --test-key ${CERT}`)).stdout).toBe(`${CERT} is already enrolled\n`);
    expect((await run(h, "lsmod")).stdout).toMatch(/^nvidia\s/m);
  });
});

describe("proxmox-boot-tool kernel pin / unpin (sim:kernel-too-new)", () => {
  it("pin writes /etc/kernel/proxmox-boot-pin and the next boot runs that kernel; unpin boots the newest again", async () => {
    const h = await openSim("kernel-too-new");
    expect((await run(h, "proxmox-boot-tool kernel pin 9.9.9-1-pve")).exitCode).not.toBe(0);
    const pin = await run(h, "proxmox-boot-tool kernel pin 5.15.102-1-pve");
    expect(pin.exitCode).toBe(0);
    expect(await h.readFile("/etc/kernel/proxmox-boot-pin")).toBe("5.15.102-1-pve\n");
    await h.reboot();
    expect((await run(h, "uname -r")).stdout).toBe("5.15.102-1-pve\n");
    expect((await run(h, "proxmox-boot-tool kernel unpin")).exitCode).toBe(0);
    expect(await h.readFile("/etc/kernel/proxmox-boot-pin")).toBeNull();
    await h.reboot();
    expect((await run(h, "uname -r")).stdout).toBe("6.2.16-3-pve\n");
  });
});
