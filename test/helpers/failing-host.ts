/**
 * Fault injection at the Host boundary: `host` whose `method` (readFile, list) throws `error` for `path`
 * (every other call goes through). The errors the tests throw are shaped as the real hosts raise them:
 * LocalHost's UserError "cannot read PATH: EACCES", a bundle's NotCapturedError.
 */
import type { Host } from "../../src/hosts/host.ts";

export function failingCall(host: Host, method: "readFile" | "list", path: string, error: Error): Host {
  return new Proxy(host, {
    get(target, prop, recv) {
      if (prop === method)
        return async (p: string) => {
          if (p === path) throw error;
          return target[method](p);
        };
      const v = Reflect.get(target, prop, recv);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

export const failingRead = (host: Host, path: string, error: Error): Host =>
  failingCall(host, "readFile", path, error);
