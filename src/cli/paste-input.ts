/**
 * `--paste FILE|-` / `--from-paste FILE|-`: read the pasted text (size-capped before it is read
 * whole), turn it into a Capture (src/paste) and a read-only host over it. The only I/O of pasting.
 */
import { open, stat } from "node:fs/promises";
import { resolve } from "node:path";
import { BundleHost } from "../hosts/bundle/bundle-host.ts";
import type { Host } from "../hosts/host.ts";
import { MAX_PASTE_BYTES, type PasteResult, readPaste, renderRecognition } from "../paste/index.ts";
import { UserError } from "../util/errors.ts";
import type { CliContext } from "./context.ts";

const TOO_LARGE = `the paste is larger than ${MAX_PASTE_BYTES / (1024 * 1024)} MiB: paste the outputs that matter, or make a support bundle (vgpuctl gather-script)`;

/** The text of FILE, or of stdin for "-"; refused (UserError) when larger than MAX_PASTE_BYTES. */
export async function readPasteText(path: string, ctx: Pick<CliContext, "cwd">): Promise<string> {
  if (path === "-") return readStdin(process.stdin);
  const full = resolve(ctx.cwd, path);
  const st = await stat(full).catch((e: NodeJS.ErrnoException) => {
    throw new UserError(
      `cannot read the paste ${path}: ${e.code ?? e.message}`,
      "name a text file, or - for stdin",
    );
  });
  if (!st.isFile())
    throw new UserError(`cannot read the paste ${path}: not a file`, "name a text file, or - for stdin");
  if (st.size > MAX_PASTE_BYTES) throw new UserError(TOO_LARGE);
  const fh = await open(full, "r");
  try {
    return (await fh.readFile()).toString("utf8");
  } finally {
    await fh.close();
  }
}

async function readStdin(input: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of input) {
    const b = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer);
    size += b.length;
    if (size > MAX_PASTE_BYTES) throw new UserError(TOO_LARGE);
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString("utf8");
}

export interface PastedHost {
  host: Host;
  paste: PasteResult;
}

/**
 * Read a paste and open a read-only host over what it shows. Refused pastes (empty, binary, too large)
 * and pastes where nothing is recognised are one clear UserError line.
 */
export async function openPaste(path: string, ctx: Pick<CliContext, "cwd">): Promise<PastedHost> {
  const paste = readPaste(await readPasteText(path, ctx), { now: new Date().toISOString() });
  if (paste.refused) throw new UserError(`${path === "-" ? "stdin" : path}: ${paste.refused}`);
  if (!paste.segments.some((s) => s.as !== null))
    throw new UserError(
      `${path === "-" ? "stdin" : path}: nothing recognised in the paste`,
      "paste whole outputs of nvidia-smi, nvidia-smi -q, lspci -nnk, mdevctl types, dmesg or journalctl, each after its command line",
    );
  return { host: BundleHost.fromCapture(paste.capture, `paste:${path}`), paste };
}

/** The recognition report, printed before the diagnosis. */
export function renderPasteHeader(paste: PasteResult): string {
  return `Read from the paste:\n${renderRecognition(paste)
    .map((l) => `  ${l}`)
    .join("\n")}\n\n`;
}
