/**
 * Fault injection at the Host boundary: `host` whose readFile of `path` throws `error` (every other
 * call goes through). The errors the tests throw are shaped as the real hosts raise them: LocalHost's
 * UserError "cannot read PATH: EACCES", a bundle's NotCapturedError.
 */
import type { Host } from "../../src/hosts/host.ts";

export function failingRead(host: Host, path: string, error: Error): Host {
  return new Proxy(host, {
    get(target, prop, recv) {
      if (prop === "readFile")
        return async (p: string) => {
          if (p === path) throw error;
          return target.readFile(p);
        };
      const v = Reflect.get(target, prop, recv);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}
