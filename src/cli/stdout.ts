/**
 * Where the CLI's standard output goes. `process.stdout` is a stream Node makes on first access, and
 * making it loads Node's whole streams stack (stream, its internal/streams/* modules, string_decoder,
 * abort_controller, and for a file fs's SyncWriteStream): ~8 M instructions of every cold start
 * (callgrind, `node -e 0` vs `node -e process.stdout`; issue 16). Into a file, /dev/null, a pipe or a
 * socket the bytes are written with fs.writeSync(1, …) instead, as Node's SyncWriteStream does for a
 * file; a terminal (or anything else) keeps process.stdout.
 * A non-blocking pipe the writer shares with another process may be full (EAGAIN): the rest of the
 * output then goes through process.stdout, which waits for the reader, in order. A reader gone (EPIPE)
 * ends the run quietly with status 0, on the next tick, as the stream's error event did.
 */
import { fstatSync, statSync, writeSync } from "node:fs";

export interface Stdout {
  write: (text: string) => void;
  /** Whether standard output is a terminal (colours). */
  isTTY: boolean;
  /** From now on through process.stdout (a prompt on it must keep its order with our lines). */
  useStream: () => void;
}

/** fd 1 is a regular file, /dev/null, a pipe or a socket: fs.writeSync writes to it as the stream would. */
function writableDirectly(): boolean {
  const st = fstatSync(1);
  if (st.isFile() || st.isFIFO() || st.isSocket()) return true;
  return st.isCharacterDevice() && st.rdev === statSync("/dev/null").rdev;
}

function exitQuietlyOnEpipe(e: NodeJS.ErrnoException): void {
  if (e.code === "EPIPE") process.exit(0);
  throw e;
}

function streamStdout(): Stdout {
  process.stdout.on("error", exitQuietlyOnEpipe);
  return { write: (s) => process.stdout.write(s), isTTY: Boolean(process.stdout.isTTY), useStream: () => {} };
}

/** The CLI's standard output (runProgram): written directly where that is safe, else process.stdout. */
export function cliStdout(): Stdout {
  let direct: boolean;
  try {
    direct = writableDirectly();
  } catch (e) {
    // fd 1 closed (EBADF): process.stdout is what Node gives such a process
    if ((e as NodeJS.ErrnoException).code !== "EBADF") throw e;
    direct = false;
  }
  if (!direct) return streamStdout();
  let stream: Stdout | undefined;
  let gone = false;
  const toStream = () => {
    stream ??= streamStdout();
    return stream;
  };
  const write = (text: string) => {
    if (gone) return;
    if (stream) return stream.write(text);
    const bytes = Buffer.from(text);
    for (let at = 0; at < bytes.length; ) {
      try {
        at += writeSync(1, bytes, at);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "EAGAIN") {
          toStream();
          process.stdout.write(bytes.subarray(at));
          return;
        }
        if (code !== "EPIPE") throw e;
        gone = true;
        process.nextTick(exitQuietlyOnEpipe, e);
        return;
      }
    }
  };
  return { write, isTTY: false, useStream: () => void toStream() };
}
