/**
 * Secure Boot: instead of refusing, sign the NVIDIA modules with a Machine Owner Key (MOK) and enrol it.
 *
 * DKMS signs the modules it builds with `mok_signing_key` / `mok_certificate` of /etc/dkms/framework.conf
 * (dell/dkms README "Module signing": /var/lib/dkms/mok.key and mok.pub by default, made with openssl the
 * first time). The plan: make that key pair unless it exists (an existing one is reused, enrolled or not),
 * name it in framework.conf, rebuild an installed driver so it is signed (a driver installed by this plan is
 * signed as it is built: this pass runs before the driver's), and queue the certificate for enrolment with
 * `mokutil --import`. The password mokutil asks for comes from the user at apply time (never in the plan,
 * the journal or a log: the command reads it on stdin, Change.stdinSecret) and is asked again once on the
 * console at the one reboot by shim's MokManager: Enroll MOK → Continue → Yes → password → Reboot.
 * After the reboot, verify finds the signed module loaded (the simulated host refuses unsigned ones, mok.ts).
 */
import { formatCommand } from "../../facts/capture.ts";
import { fileChange } from "../changes.ts";
import type { PlanContext } from "../context.ts";
import type { Change } from "../types.ts";
import { PassOutput } from "./output.ts";

export const MOK_KEY = "/var/lib/dkms/mok.key";
export const MOK_CERT = "/var/lib/dkms/mok.pub";
export const DKMS_FRAMEWORK = "/etc/dkms/framework.conf";

/** What to confirm on the console at the reboot (shim's MokManager), printed with the step. */
export const MOK_CONSOLE =
  "at the reboot, on the console: shim's blue MokManager screen → Enroll MOK → Continue → Yes → type the MOK password → Reboot (not confirmed there, the key is not enrolled: run apply again)";

/** framework.conf with the signing key and certificate set (commented defaults replaced, else appended). */
export function withSigningKey(text: string): string {
  let out = text;
  for (const [k, v] of [
    ["mok_signing_key", MOK_KEY],
    ["mok_certificate", MOK_CERT],
  ] as const) {
    const set = new RegExp(`^\\s*${k}=["']?${v.replace(/[./]/g, "\\$&")}["']?\\s*$`, "m");
    if (set.test(out)) continue;
    const commented = new RegExp(`^#\\s*${k}=.*$`, "m");
    const active = new RegExp(`^\\s*${k}=.*$`, "m");
    const line = `${k}="${v}"`;
    if (active.test(out)) out = out.replace(active, line);
    else if (commented.test(out)) out = out.replace(commented, line);
    else out = `${out}${out === "" || out.endsWith("\n") ? "" : "\n"}${line}\n`;
  }
  return out;
}

export function secureBootPass(ctx: PlanContext): PassOutput {
  const out = new PassOutput();
  const f = ctx.facts;
  if (f.secureBoot !== true) return out;
  const installed = ctx.driver.installed;
  if (installed?.loaded === true && !ctx.driver.needed) return out; // signed by an enrolled key already
  const fixes = ["secure-boot"];
  keyStep(ctx, out, fixes);
  const conf = ctx.input.file(DKMS_FRAMEWORK);
  if (conf === undefined)
    out.note(
      `${DKMS_FRAMEWORK} was not captured: DKMS signing could not be configured (the modules stay unsigned)`,
    );
  else if (withSigningKey(conf ?? "") !== (conf ?? ""))
    out.step({
      id: "dkms-signing",
      title: "Make DKMS sign the modules it builds with the MOK",
      why: `Secure Boot loads only signed modules: DKMS signs with mok_signing_key / mok_certificate of ${DKMS_FRAMEWORK}`,
      changes: [fileChange(DKMS_FRAMEWORK, conf, withSigningKey(conf ?? ""), 0o644)],
      reboot: false,
      fixes,
      undo: { description: `restore ${DKMS_FRAMEWORK}`, commands: [], regenerate: [] },
    });
  if (installed && !ctx.driver.needed)
    out.step({
      id: "driver-sign",
      title: `Rebuild NVIDIA driver ${installed.version} with DKMS, signed`,
      why: 'the installed modules are unsigned (Secure Boot rejected them: "Key was rejected by service")',
      changes: [
        {
          kind: "command",
          argv: ["dkms", "install", "-m", "nvidia", "-v", installed.version, "-k", ctx.bootKernel, "--force"],
        },
      ],
      reboot: true,
      fixes,
      undo: { description: "nothing: the signed modules stay", commands: [], regenerate: [] },
    });
  importStep(ctx, out, fixes);
  return out;
}

/** secure-boot-key: the DKMS key pair, unless `mokutil --test-key` shows the certificate exists (reused). */
function keyStep(ctx: PlanContext, out: PassOutput, fixes: string[]): void {
  const state = ctx.facts.mokKey;
  const changes: Change[] = [];
  if (ctx.facts.packages && !("mokutil" in ctx.facts.packages))
    changes.push({ kind: "package", install: ["mokutil"] });
  const make = [
    "openssl",
    "req",
    "-new",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-keyout",
    MOK_KEY,
    "-outform",
    "DER",
    "-out",
    MOK_CERT,
    "-nodes",
    "-days",
    "36500",
    "-subj",
    "/CN=vgpuctl DKMS module signing key/",
  ];
  if (state === "absent") changes.push({ kind: "command", argv: make });
  else if (state === null || state === undefined)
    // not known (no mokutil yet): reuse a key pair that is there, else make one
    changes.push({
      kind: "command",
      argv: ["sh", "-c", `[ -f ${MOK_KEY} ] && [ -f ${MOK_CERT} ] || ${formatCommand(make)}`],
    });
  else out.note(`Secure Boot: reusing the DKMS signing key ${MOK_KEY} (${state.replace("-", " ")} as a MOK)`);
  if (changes.length === 0) return;
  out.step({
    id: "secure-boot-key",
    title: "Make the DKMS module signing key (MOK)",
    why: `Secure Boot needs the NVIDIA modules signed by a key shim trusts: ${MOK_KEY} / ${MOK_CERT} (reused when present)`,
    changes,
    reboot: false,
    fixes,
    undo: {
      description: `the key stays (it may be enrolled; mokutil --delete ${MOK_CERT} removes it at a reboot)`,
      commands: [],
      regenerate: [],
    },
  });
}

/** mok-import: queue the certificate for enrolment; the password comes from the user at apply time. */
function importStep(ctx: PlanContext, out: PassOutput, fixes: string[]): void {
  const state = ctx.facts.mokKey;
  if (state === "enrolled") return;
  if (state === "pending") {
    out.note(`Secure Boot: ${MOK_CERT} is queued for enrolment already — ${MOK_CONSOLE}`);
    return;
  }
  if (ctx.input.mokPassword === false)
    out.block(
      "mok-password-missing",
      "Secure Boot: enrolling the module signing key needs a one-time MOK password, and none was given",
      [`mokutil --import ${MOK_CERT} asks for it; it is typed again on the console at the reboot`],
      [
        "set VGPUCTL_MOK_PASSWORD or pass --mok-password-file FILE to apply, or run apply on a terminal to be asked (never stored by vgpuctl)",
      ],
    );
  else if (ctx.input.mokPassword === undefined)
    out.note(
      "Secure Boot: apply needs a one-time MOK password (VGPUCTL_MOK_PASSWORD, --mok-password-file, or asked on the terminal, hidden)",
    );
  out.note(`Secure Boot: ${MOK_CONSOLE}`);
  out.step({
    id: "mok-import",
    title: `Queue the signing key for enrolment (mokutil --import); ${MOK_CONSOLE}`,
    why: "shim enrols a Machine Owner Key only when the owner confirms it on the console at the next boot",
    changes: [{ kind: "command", argv: ["mokutil", "--import", MOK_CERT], stdinSecret: "mok-password" }],
    reboot: true,
    fixes,
    undo: {
      description: `the key stays enrolled (mokutil --delete ${MOK_CERT} removes it at a reboot, confirmed on the console)`,
      commands: [],
      regenerate: [],
    },
  });
}
