import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runSupportBundle } from "../../src/commands/support-bundle.ts";
import { BUNDLE_FORMAT, type Capture } from "../../src/facts/capture.ts";
import { readBundle } from "../../src/hosts/bundle/bundle-io.ts";
import type { Host } from "../../src/hosts/host.ts";
import { isPublicV4, isPublicV6, Redactor, redactCapture } from "../../src/redact/index.ts";

const r = () => new Redactor();

describe("Redactor: each kind", () => {
  it("PVE API token secret, keeping user, realm and token id", () => {
    const x = r();
    expect(x.redact("Authorization: PVEAPIToken=root@pam!vgpuctl=aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee")).toBe(
      "Authorization: PVEAPIToken=root@pam!vgpuctl=REDACTED-SECRET-1",
    );
    expect([...x.kinds]).toEqual(["secret"]);
  });

  it("password=, token=, secret:, JSON and cloud-init cipassword", () => {
    // source: cloud-init key of a Proxmox VM config (pve-docs qm.conf: `cipassword: <password>`)
    const t = r().redact(
      'cipassword: $5$ab$cd\nurl=https://x/?token=abc123&x=1\n{"client_secret": "s3cr3t"}\npassword=hunter2\n',
    );
    expect(t).not.toMatch(/\$5\$ab|abc123|s3cr3t|hunter2/);
    expect(t).toContain('{"client_secret": "REDACTED-SECRET-');
  });

  it("password in a URL keeps the user", () => {
    expect(r().redact("deb https://apt:pa55@enterprise.example/debian bookworm main")).toBe(
      "deb https://apt:REDACTED-SECRET-1@enterprise.example/debian bookworm main",
    );
  });

  it("private key blocks", () => {
    const t = r().redact(
      "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n",
    );
    expect(t).toBe("-----BEGIN OPENSSH PRIVATE KEY-----\nREDACTED\n-----END OPENSSH PRIVATE KEY-----\n");
  });

  it("MAC addresses in VM configs and dmesg keep their shape and case; the same MAC maps to the same placeholder", () => {
    const x = r();
    const conf = x.redact("net0: virtio=BC:24:11:5E:8B:A4,bridge=vmbr0,firewall=1\n");
    expect(conf).toBe("net0: virtio=02:AD:AC:00:00:01,bridge=vmbr0,firewall=1\n");
    // source: shape of an e1000e probe line in dmesg
    expect(x.redact("e1000e 0000:00:1f.6 eth0: (PCI Express:2.5GT/s:Width x1) bc:24:11:5e:8b:a4")).toMatch(
      / 02:ad:ac:00:00:01$/,
    );
    expect(x.redact("ether 00:00:00:00:00:00 brd ff:ff:ff:ff:ff:ff")).toBe(
      "ether 00:00:00:00:00:00 brd ff:ff:ff:ff:ff:ff",
    );
  });

  it("does not mistake PCI addresses, UUIDs or times for MACs", () => {
    const s =
      "0000:01:00.0 00000000-0000-0000-0000-000000000100 Feb 13 18:44:28 DMAR: dmar0: reg_base_addr fed90000";
    expect(r().redact(s)).toBe(s);
  });

  it("nvidia-smi -q serial number and GPU UUID (source: Project-HAMi/HAMi#602 nvidia-smi -q of a Tesla T4)", () => {
    const q = [
      "    Serial Number                         : 1322621091831",
      "    GPU UUID                              : GPU-9a3603f4-f66e-d48b-11ea-13e327064cca",
      "        RACK Serial Number                : N/A",
      "    Board Part Number                     : 900-2G183-0000-001",
    ].join("\n");
    const x = r();
    const t = x.redact(q);
    expect(t).toContain("Serial Number                         : REDACTED-SERIAL-1");
    expect(t).toContain("GPU UUID                              : GPU-00000000-0000-0000-0000-000000000001");
    expect(t).toContain("RACK Serial Number                : N/A");
    expect(t).toContain("900-2G183-0000-001");
    expect([...x.kinds].sort()).toEqual(["gpu-uuid", "serial-number"]);
  });

  it("smbios1 serial but not the VM UUID (checks need it)", () => {
    const t = r().redact("smbios1: serial=QzAwMQ==,uuid=7f3c1a2e-1d4b-4c8e-9a1b-2c3d4e5f6a7b\n");
    expect(t).toBe("smbios1: serial=REDACTED-SERIAL-1,uuid=7f3c1a2e-1d4b-4c8e-9a1b-2c3d4e5f6a7b\n");
  });

  it("public IPv4/IPv6 replaced; private, loopback, link-local, CGNAT kept; versions untouched", () => {
    const t = r().redact(
      "ip=85.10.1.7/24,gw=85.10.1.1 dns 8.8.8.8 lan 192.168.1.10 10.0.0.1 172.20.0.5 127.0.0.1 169.254.1.1 100.64.0.1 mask 255.255.255.0\n" +
        "inet6 2a01:4f8:c17:1234::2/64 fe80::1ff:fe23:4567:890a fd00::1 ::1\nVBIOS Version : 90.04.96.00.9F  driver 525.85.07  vgpu_unlock_rs::config",
    );
    expect(t).toContain(
      "ip=198.51.100.1/24,gw=198.51.100.2 dns 198.51.100.3 lan 192.168.1.10 10.0.0.1 172.20.0.5 127.0.0.1 169.254.1.1 100.64.0.1 mask 255.255.255.0",
    );
    expect(t).toContain("inet6 2001:db8::1/64 fe80::1ff:fe23:4567:890a fd00::1 ::1");
    expect(t).toContain("VBIOS Version : 90.04.96.00.9F  driver 525.85.07  vgpu_unlock_rs::config");
  });

  describe("issue 13 item 15: each leak the issue names", () => {
    it("`db pass: s3cr3tDB` in a VM description, as the API shows it and as the .conf stores it", () => {
      // source: PVE::Tools::encode_text (pve-common) writes description lines as `#` comments with ':' → %3A
      const x = r();
      expect(x.redact("description: db pass: s3cr3tDB\n")).toBe("description: db pass: REDACTED-SECRET-1\n");
      expect(x.redact("#db pass%3A s3cr3tDB\nname: web\n")).toBe(
        "#db pass%3A REDACTED-SECRET-1\nname: web\n",
      );
    });

    it("`pw=mapsecret` in /etc/pve/mapping/pci.cfg", () => {
      const cfg = "gpu0\n\tdescription pw=mapsecret\n\tmap id=10de:1eb8,node=pve,path=0000:01:00.0\n";
      expect(r().redact(cfg)).toBe(
        "gpu0\n\tdescription pw=REDACTED-SECRET-1\n\tmap id=10de:1eb8,node=pve,path=0000:01:00.0\n",
      );
    });

    it("free text `pw is P@ssw0rd!`", () => {
      expect(r().redact("note: pw is P@ssw0rd!")).toBe("note: pw is REDACTED-SECRET-1");
    });

    it("`#token secret 6f0d3c1e-…` (no = or :)", () => {
      expect(r().redact("#token secret 6f0d3c1e-9b2a-4c1d-8e7f-0a1b2c3d4e5f\n")).toBe(
        "#token secret REDACTED-SECRET-1\n",
      );
    });

    it("a MAC without separators (`BC2411AABBDD`) maps to the same placeholder as its colon form", () => {
      const x = r();
      expect(x.redact("net0: virtio=BC:24:11:AA:BB:DD")).toBe("net0: virtio=02:AD:AC:00:00:01");
      expect(x.redact("mac BC2411AABBDD and bc2411aabbdd")).toBe("mac 02ADAC000001 and 02adac000001");
    });

    it("keeps what checks read: Pass-Through, passthrough, 12-digit numbers, UUID groups, 0x constants", () => {
      const s =
        "Virtualization Mode : Pass-Through\npassthrough: 1\nused 123456789012 bytes\n" +
        "00000000-0000-0000-0000-0000000001ab 0x1b2c3d4e5f6a\n";
      expect(r().redact(s)).toBe(s);
    });

    it("keeps dpkg-query's tab-separated package versions (libsecret-1-0, passwd)", () => {
      // shape of `dpkg-query -W` output: package<TAB>version
      const s = "libsecret-1-0\t0.20.5-3\npasswd\t1:4.13+dfsg1-1\n";
      expect(r().redact(s)).toBe(s);
    });

    it("a short key word quoted as a JSON key, and no key inside a placeholder", () => {
      expect(r().redact('{"db_pass": "x1", "DB_PWD": "y2"}')).toBe(
        '{"db_pass": "REDACTED-SECRET-1", "DB_PWD": "REDACTED-SECRET-2"}',
      );
      // `REDACTED-SECRET-1 passwd=***` once read as the key `SECRET-1` with the value `passwd=***`
      expect(r().redact("my-token:xyz passwd=***")).toBe("my-token:REDACTED-SECRET-1 passwd=***");
    });

    it("is idempotent over its own placeholders", () => {
      const once = r().redact("pw is P@ssw0rd!\n#token secret 6f0d3c1e-9b2a\nmac BC2411AABBDD");
      expect(r().redact(once)).toBe(once);
    });
  });

  it("range helpers", () => {
    expect(isPublicV4(8, 8, 8)).toBe(true);
    expect(isPublicV4(172, 31, 0)).toBe(false);
    expect(isPublicV4(172, 32, 0)).toBe(true);
    expect(isPublicV6("2606:4700::1111")).toBe(true);
    expect(isPublicV6("2001:db8::1")).toBe(false);
  });
});

function capture(): Capture {
  return {
    format: BUNDLE_FORMAT,
    host: "pve",
    capturedAt: "2023-01-24T20:21:28Z",
    commands: [
      {
        cmd: "nvidia-smi -q",
        stdout:
          "    Serial Number : 1322621091831\n    GPU UUID : GPU-9a3603f4-f66e-d48b-11ea-13e327064cca\n",
        exitCode: 0,
      },
      { cmd: "dpkg-query -W", stdout: "libfoo\t1.2.3.4-1\npve-manager\t7.4-3\n", exitCode: 0 },
      { cmd: "dmesg", stdout: "[    3.1] e1000e 0000:00:1f.6 eth0: bc:24:11:5e:8b:a4\n", exitCode: 0 },
    ],
    files: {
      "/etc/pve/qemu-server/100.conf":
        "name: win11\nnet0: virtio=BC:24:11:5E:8B:A4,bridge=vmbr0\nipconfig0: ip=85.10.1.7/24,gw=85.10.1.1\ncipassword: $5$ab$cd\n",
      "/etc/pve/qemu-server/101.conf": "name: ubuntu\nnet0: virtio=BC:24:11:00:00:02,bridge=vmbr0\n",
      "/sys/class/dmi/id/product_serial": "S4XYZ123\n",
      "/proc/cmdline": "BOOT_IMAGE=/boot/vmlinuz-5.15.102-1-pve ro quiet intel_iommu=on\n",
    },
    capturedPaths: ["/etc/pve/qemu-server", "/proc/cmdline"],
    redacted: [],
    notes: [],
  };
}

describe("redactCapture", () => {
  it("redacts across commands and files consistently, and records the kinds", () => {
    const out = redactCapture(capture());
    expect(out.commands[0]!.stdout).toBe(
      "    Serial Number : REDACTED-SERIAL-1\n    GPU UUID : GPU-00000000-0000-0000-0000-000000000001\n",
    );
    const mac = /02:ad:ac:00:00:0\d/.exec(out.commands[2]!.stdout)![0];
    expect(out.files["/etc/pve/qemu-server/100.conf"]).toContain(
      `net0: virtio=${mac.toUpperCase()},bridge=vmbr0`,
    );
    expect(out.files["/etc/pve/qemu-server/101.conf"]).not.toContain(mac.toUpperCase()); // another MAC, another placeholder
    expect(out.files["/sys/class/dmi/id/product_serial"]).toMatch(/^REDACTED-SERIAL-\d\n$/);
    expect(out.files["/proc/cmdline"]).toBe(capture().files["/proc/cmdline"]);
    expect(out.commands[1]!.stdout).toBe("libfoo\t1.2.3.4-1\npve-manager\t7.4-3\n"); // versions are not IPs
    expect(out.redacted).toEqual(["gpu-uuid", "mac-address", "public-ipv4", "secret", "serial-number"]);
    expect(Object.keys(out.files)).toEqual(Object.keys(capture().files));
  });

  it("is idempotent", () => {
    const once = redactCapture(capture());
    expect(redactCapture(once)).toEqual(once);
  });

  it("is deterministic", () => {
    expect(redactCapture(capture())).toEqual(redactCapture(capture()));
  });
});

describe("support-bundle", () => {
  it("writes a redacted bundle that replays, and reports what was not captured", async () => {
    const raw = capture();
    const host = { name: "pve", capture: async () => raw, close: async () => {} } as unknown as Host;
    const dir = mkdtempSync(join(tmpdir(), "vgpuctl-redact-"));
    const out = join(dir, "b.tar.gz");
    const s = await runSupportBundle({ out }, { host });
    expect(s.path).toBe(out);
    expect(s.redacted).toContain("mac-address");
    expect(s.notCaptured).toContain("lspci -Dnnk");
    expect(s.commands).toEqual(["nvidia-smi -q", "dpkg-query -W", "dmesg"]);
    const back = await readBundle(out);
    expect(back.files["/etc/pve/qemu-server/100.conf"]).not.toMatch(/BC:24:11|85\.10\.1|\$5\$/);
    expect(JSON.stringify(back)).not.toContain("1322621091831");
    expect(readFileSync(out).length).toBeGreaterThan(100);
  });
});
