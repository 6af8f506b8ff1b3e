import { describe, expect, it } from "vitest";
import { hideApiTokens } from "../../src/redact/api-token.ts";

// header form: pve-docs pveum.adoc "API Tokens" (Authorization: PVEAPIToken=USER@REALM!TOKENID=UUID)
const SECRET = "0b4c8f5e-1d2a-4c3b-9e8f-7a6b5c4d3e2f";

describe("hideApiTokens (issue 13 item 16)", () => {
  it("hides the secret of a PVEAPIToken header, keeping user, realm and token id", () => {
    expect(hideApiTokens(`Authorization: PVEAPIToken=root@pam!vgpuctl=${SECRET}`)).toBe(
      "Authorization: PVEAPIToken=root@pam!vgpuctl=REDACTED",
    );
    expect(hideApiTokens(`{"h":"PVEAPIToken=u@pve!t=${SECRET}"}`)).toBe(
      '{"h":"PVEAPIToken=u@pve!t=REDACTED"}',
    );
    expect(hideApiTokens(`q=PVEAPIToken%3Du%40pve%21t%3D${SECRET}&x=1`)).toBe(
      "q=PVEAPIToken%3Du%40pve%21t%3DREDACTED&x=1",
    );
  });

  it("hides a known secret wherever it stands, and is idempotent", () => {
    const once = hideApiTokens(`errors: got ${SECRET} twice ${SECRET}`, [SECRET]);
    expect(once).toBe("errors: got REDACTED twice REDACTED");
    expect(hideApiTokens(once, [SECRET])).toBe(once);
  });

  it("leaves text without tokens alone", () => {
    const s = "hostpci0: 0000:01:00.0,mdev=nvidia-259 token id vgpuctl";
    expect(hideApiTokens(s, [SECRET])).toBe(s);
  });
});
