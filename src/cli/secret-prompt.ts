/**
 * A hidden prompt on the terminal for a secret (the Secure Boot MOK password): the terminal is put in raw mode, so
 * nothing typed is echoed, and the answer goes to the caller only — never printed, logged or journaled. Only for a
 * person at a terminal: no TTY on stdin, or CI=true, gives no prompt (callers then keep their refusal).
 */
import { UserError } from "../util/errors.ts";

export type SecretInput = NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
export type AskSecret = (prompt: string) => Promise<string>;

const ENTER = new Set(["\r", "\n", "\u0004"]);
const ERASE = new Set(["\u007f", "\b"]);

/** main()'s secret prompt, or undefined when there is no one to ask. */
export function terminalSecret(
  input: SecretInput = process.stdin,
  output: NodeJS.WritableStream = process.stderr,
  env: NodeJS.ProcessEnv = process.env,
): AskSecret | undefined {
  if (!input.isTTY || !input.setRawMode || env.CI === "true") return undefined;
  return (prompt) =>
    new Promise<string>((resolve, reject) => {
      let typed = "";
      const finish = () => {
        input.removeListener("data", onData);
        input.setRawMode!(false);
        input.pause();
        output.write("\n");
      };
      const onData = (chunk: Buffer | string) => {
        for (const ch of chunk.toString()) {
          if (ENTER.has(ch) || ch === "\u0003") {
            finish();
            if (ch === "\u0003") reject(new UserError("cancelled at the password prompt", "run it again"));
            else resolve(typed);
            return;
          }
          typed = ERASE.has(ch) ? typed.slice(0, -1) : typed + ch;
        }
      };
      output.write(prompt);
      input.setRawMode!(true);
      input.on("data", onData);
      input.resume();
    });
}

/**
 * The MOK password asked twice (as mokutil and the MOK manager at the console will want it); asked once per run —
 * every host of the run shares it — and only when a step first needs it.
 */
export function mokPasswordPrompt(ask: AskSecret): () => Promise<string> {
  let answer: Promise<string> | undefined;
  return () => {
    answer ??= (async () => {
      const pw = await ask(
        "One-time MOK password (typed again at the console during the reboot; not stored): ",
      );
      if (pw === "") throw new UserError("no MOK password typed", "run apply again and type one");
      if ((await ask("The MOK password again: ")) !== pw)
        throw new UserError(
          "the two MOK passwords differ",
          "run apply again and type the same password twice",
        );
      return pw;
    })();
    return answer;
  };
}
