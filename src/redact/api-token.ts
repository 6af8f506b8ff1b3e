/**
 * Proxmox VE API token secrets out of text that is printed (issue 13 item 16). The header the client
 * sends is `Authorization: PVEAPIToken=USER@REALM!TOKENID=SECRET` (pve-docs pveum.adoc, "API Tokens");
 * a server or proxy that echoes the request must not make vgpuctl print the secret.
 */

/** `PVEAPIToken=user@realm!id=SECRET` (also `PVEAPIToken user@realm!id=…`, URL-encoded `%21`/`%3D`). */
const TOKEN_HEADER = /(PVEAPIToken(?:=|\s+|%3D)[^\s=!]+?(?:!|%21)[^\s=]+?(?:=|%3D))([^\s"'&,;)}\]]+)/gi;

/** The placeholder a hidden secret becomes. */
export const HIDDEN_SECRET = "REDACTED";

/**
 * `text` with every API token secret replaced: anything after `PVEAPIToken=user!id=`, and each
 * exact occurrence of the `secrets` given (the client's own secret, wherever a server echoes it).
 */
export function hideApiTokens(text: string, secrets: readonly string[] = []): string {
  // TOKEN_HEADER only where it can match: every line vgpuctl prints passes here, and compiling that
  // case-insensitive expression cost ~1 M instructions of each start (issue 16). Under the i flag an ASCII
  // letter matches only itself in either case, so the lowercased text holds "pveapitoken" wherever it matches.
  let out = !text.toLowerCase().includes("pveapitoken")
    ? text
    : text.replace(TOKEN_HEADER, (m, head: string, v: string) =>
        v === HIDDEN_SECRET ? m : `${head}${HIDDEN_SECRET}`,
      );
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join(HIDDEN_SECRET);
  return out;
}
