export interface CmdResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export const ok = (stdout: string): CmdResult => ({ stdout, stderr: "", exitCode: 0 });
export const fail = (stderr: string, exitCode = 1, stdout = ""): CmdResult => ({ stdout, stderr, exitCode });
