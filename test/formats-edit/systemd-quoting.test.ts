import { describe, expect, it } from "vitest";
import { parseDropin } from "../../src/facts/system/systemd.ts";
import {
  environmentLine,
  environmentWords,
  serviceEnvironment,
  setServiceEnvironment,
} from "../../src/formats/systemd/dropin.ts";
import { UserError } from "../../src/util/errors.ts";

// systemd.exec(5) Environment=: `Environment="VAR1=word1 word2" VAR2=word3 "VAR3=$word 5 6"`;
// systemd.unit(5) specifiers: "%%" is a single percent sign; load-fragment.c config_parse_environ
// splits with EXTRACT_CUNESCAPE|EXTRACT_UNQUOTE, then resolves specifiers per word (issue 13 item 11).
describe("Environment= quoting in systemd drop-ins", () => {
  it("a path with spaces and % is one quoted assignment with %% (never split, never a specifier)", () => {
    expect(environmentLine("LD_PRELOAD", "/a b/%x")).toBe('Environment="LD_PRELOAD=/a b/%%x"');
    const t = setServiceEnvironment("", "LD_PRELOAD", "/a b/%x");
    expect(t).toBe('[Service]\nEnvironment="LD_PRELOAD=/a b/%%x"\n');
    expect(serviceEnvironment(t, "LD_PRELOAD")).toBe("/a b/%x");
    expect(setServiceEnvironment(t, "LD_PRELOAD", "/a b/%x")).toBe(t);
  });

  it("quotes and backslashes are escaped C-style inside the quotes", () => {
    const line = environmentLine("LD_PRELOAD", '/o"dd\\dir/l.so');
    expect(line).toBe('Environment="LD_PRELOAD=/o\\"dd\\\\dir/l.so"');
    expect(environmentWords(line.slice("Environment=".length))).toEqual(['LD_PRELOAD=/o"dd\\dir/l.so']);
  });

  it("reads what systemd reads: words split outside quotes, %% as %", () => {
    expect(environmentWords('"VAR1=word1 word2" VAR2=word3 "VAR3=a%%b"')).toEqual([
      "VAR1=word1 word2",
      "VAR2=word3",
      "VAR3=a%b",
    ]);
  });

  it("the facts parser reads the written drop-in back to the same library path", () => {
    const t = setServiceEnvironment("", "LD_PRELOAD", "/opt/100%/lib.so");
    const d = parseDropin("nvidia-vgpud.service", "/etc/systemd/system/nvidia-vgpud.service.d/x.conf", t);
    expect(d.environment.LD_PRELOAD).toBe("/opt/100%/lib.so");
  });

  it("keeps the guide's unquoted form for a plain path", () => {
    expect(environmentLine("LD_PRELOAD", "/opt/vgpu_unlock-rs/target/release/libvgpu_unlock_rs.so")).toBe(
      "Environment=LD_PRELOAD=/opt/vgpu_unlock-rs/target/release/libvgpu_unlock_rs.so",
    );
  });

  it("refuses a value with a newline or other control character", () => {
    expect(() => environmentLine("LD_PRELOAD", "/a\nExecStartPre=/bin/sh")).toThrow(UserError);
    expect(() => environmentLine("LD_PRELOAD", "/a\nExecStartPre=/bin/sh")).toThrow(/control character/);
  });
});
