/**
 * Secure Boot module signing on the simulated host: the MOK (Machine Owner Key) shim trusts, DKMS signing
 * and `mokutil --import` / `--test-key`.
 *
 * Sources:
 * - DKMS module signing (dell/dkms README "Module signing"; JacKeTUs/universal-pidff docs/SIGNING.md): the key
 *   and certificate DKMS signs with are `mok_signing_key` / `mok_certificate` in /etc/dkms/framework.conf,
 *   /var/lib/dkms/mok.key and /var/lib/dkms/mok.pub (DER) by default. The simulator signs only when
 *   framework.conf names them and both files exist (dkms 3.x would also make a key of its own — a host
 *   here without that configuration stands for one whose modules were built unsigned).
 * - mokutil (lcp/mokutil; saurontech/Advantech-VCOM-Linux-Driver doc/secure_boot.md): `mokutil --import
 *   CERT` asks "input password:" and "input password again:" and queues an enrolment request; at the next
 *   boot shim's MokManager asks on the console (Enroll MOK → Continue → Yes → the password → Reboot) and
 *   only then is the key enrolled. `--test-key CERT` says "… is already enrolled", "… is not enrolled" or
 *   "… is already in the enrollment request".
 * - Loading a module not signed by an enrolled key with Secure Boot on: modprobe "Key was rejected by
 *   service" (awesometic/realtek-r8126-dkms#3, linux-surface/linux-surface#906; older kernels said
 *   "Required key not available", hhfeuer/nvhda#8) — tools.ts modprobe, render/dmesg.ts.
 */

import { nodeCrypto } from "../../util/node-crypto.ts";
import { type CmdResult, fail, ok } from "./render/types.ts";
import type { SimState } from "./state.ts";

export const FRAMEWORK_CONF = "/etc/dkms/framework.conf";
export const MOK_KEY = "/var/lib/dkms/mok.key";
export const MOK_CERT = "/var/lib/dkms/mok.pub";

/** Debian's /etc/dkms/framework.conf as the dkms package installs it (signing lines commented out). */
export const STOCK_FRAMEWORK_CONF = `## This configuration file modifies the behavior of
## DKMS (Dynamic Kernel Module Support) and is sourced
## in by DKMS every time it is run.

## Source Tree Location (default: /usr/src)
# source_tree="/usr/src"

## DKMS Tree Location (default: /var/lib/dkms)
# dkms_tree="/var/lib/dkms"

## Location of the key and certificate files used for Secure boot. $kernelver
## can be used in path to represent the target kernel version.
## mok_signing_key can also be a "pkcs11:..." string for PKCS#11 URI
# mok_signing_key="/var/lib/dkms/mok.key"
# mok_certificate="/var/lib/dkms/mok.pub"

## Location of the sign-file kernel binary. $kernelver can be used in path to
## represent the target kernel version.
# sign_file="/lib/modules/$kernelver/build/scripts/sign-file"
`;

const fingerprint = (cert: string) => nodeCrypto().createHash("sha256").update(cert).digest("hex");

function mokState(s: SimState): { enrolled: string[]; pending: string[] } {
  s.boot.mok ??= { enrolled: [], pending: [] };
  return s.boot.mok;
}

/** A value `KEY="…"` set (uncommented) in framework.conf, or null. */
function frameworkValue(s: SimState, key: string): string | null {
  const text = s.files[FRAMEWORK_CONF] ?? "";
  const m = new RegExp(`^\\s*${key}=["']?([^"'\\n]+)["']?\\s*$`, "m").exec(text);
  return m ? m[1]!.trim() : null;
}

/** The fingerprint of the certificate a DKMS build signs with now (null: the build is not signed). */
export function dkmsSigningCert(s: SimState): string | null {
  const key = frameworkValue(s, "mok_signing_key");
  const cert = frameworkValue(s, "mok_certificate");
  if (!key || !cert || s.files[key] === undefined || s.files[cert] === undefined) return null;
  return fingerprint(s.files[cert]!);
}

/** Whether the module signed with this certificate loads: no Secure Boot, or the key is enrolled. */
export function signedByEnrolledKey(s: SimState, cert: string | null | undefined): boolean {
  return cert !== null && cert !== undefined && mokState(s).enrolled.includes(cert);
}

/** At boot: shim's MokManager shows queued requests; the operator confirms them unless the scenario says not. */
export function mokManagerAtBoot(s: SimState): void {
  const mok = mokState(s);
  if (mok.pending.length > 0 && s.boot.mokConsole !== "ignore") mok.enrolled.push(...mok.pending);
  mok.pending = [];
  if (s.driver) s.driver.signed = signedByEnrolledKey(s, s.driver.signedWith);
}

/** `mokutil --import CERT` (password twice on stdin) and `mokutil --test-key CERT`. */
export function mokutilKey(s: SimState, args: string[], input: string | undefined): CmdResult | null {
  const [flag, file] = args;
  if (flag !== "--import" && flag !== "--test-key") return null;
  if (!file) return fail(`mokutil: option '${flag}' requires an argument\n`, 1);
  const cert = s.files[file];
  if (cert === undefined) return fail(`Failed to open ${file}\n`, 1);
  const fp = fingerprint(cert);
  const mok = mokState(s);
  if (flag === "--test-key") {
    if (mok.pending.includes(fp)) return ok(`${file} is already in the enrollment request\n`);
    if (mok.enrolled.includes(fp)) return ok(`${file} is already enrolled\n`);
    return ok(`${file} is not enrolled\n`);
  }
  if (mok.enrolled.includes(fp)) return ok(`SKIP: ${file} is already enrolled\n`);
  const [pw, again] = (input ?? "").split("\n");
  if (!pw) return fail("input password: \nAbort\n", 255);
  if (pw !== again) return fail("input password: \ninput password again: \nPassword doesn't match\n", 255);
  if (!mok.pending.includes(fp)) mok.pending.push(fp);
  return { stdout: "input password: \ninput password again: \n", stderr: "", exitCode: 0 };
}

/**
 * `openssl req -new -x509 -newkey rsa:2048 -keyout KEY -outform DER -out CERT -nodes -days N -subj S` (the DKMS
 * key pair): writes a stand-in private key and certificate (text, distinct per subject and boot count).
 */
export function opensslReq(s: SimState, args: string[]): CmdResult {
  if (args[0] !== "req") return fail(`Invalid command '${args[0] ?? ""}'; type "help" for a list.\n`, 1);
  const opt = (f: string) => (args.includes(f) ? args[args.indexOf(f) + 1] : undefined);
  const key = opt("-keyout");
  const out = opt("-out");
  if (!key || !out) return fail("req: Use -help for summary.\n", 1);
  const subject = opt("-subj") ?? "/CN=unknown/";
  s.files[key] =
    `-----BEGIN PRIVATE KEY-----\nsimulated RSA 2048 key for ${subject} (boot ${s.bootCount})\n-----END PRIVATE KEY-----\n`;
  s.files[out] = `simulated DER certificate ${subject} ${fingerprint(s.files[key]!).slice(0, 16)}\n`;
  return { stdout: "", stderr: "..+++++\n.....+++++\n-----\n", exitCode: 0 };
}
