// The completion scripts as a user installs them: printed by the real `keeper completion`
// command, then handed to the shells themselves. `bash -n` and `zsh -n` parse them without
// running anything, so a quoting slip in the generator shows up here rather than in someone's
// shell start-up; then each script's completion function runs on a partial command line and
// its candidates are checked. zsh's completion builtins (compadd, _files) exist only inside
// its completion system, so they are replaced by stand-ins that print what they were given;
// the filtering by prefix that compadd does is done here.
import { execFileSync, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { REPO_ROOT, tempDir } from "../support/processes.ts";

const work = tempDir("keeper-completion-");
afterAll(() => work.cleanup());

/** `keeper completion SHELL`, as the repository's `npm run keeper` runs it. */
function script(shell: "bash" | "zsh"): string {
  const path = join(work.path, `keeper.${shell}`);
  const text = execFileSync(process.execPath, ["--import", "tsx", "packages/cli/src/main.ts", "completion", shell], { cwd: REPO_ROOT, encoding: "utf8" });
  writeFileSync(path, text);
  return path;
}

/** Parses without executing: exit status and what the shell said. */
function syntaxCheck(shell: "bash" | "zsh", path: string): { status: number | null; stderr: string } {
  const r = spawnSync(shell, ["-n", path], { encoding: "utf8" });
  if (r.error) throw new Error(`${shell} is not installed (apt-get install -y ${shell}): ${r.error.message}`);
  return { status: r.status, stderr: r.stderr };
}

const lines = (out: string): string[] => out.split("\n").filter((l) => l !== "");
const quote = (w: string) => `'${w.replace(/'/g, `'\\''`)}'`;

describe("bash completion", () => {
  const path = script("bash");

  it("parses under bash -n", () => {
    expect(syntaxCheck("bash", path)).toEqual({ status: 0, stderr: "" });
  });

  it("bash -n rejects a broken copy of it (the check can fail)", () => {
    const broken = join(work.path, "broken.bash");
    writeFileSync(broken, execFileSync("cat", [path], { encoding: "utf8" }).replace(/\n  esac\n/, "\n"));
    expect(syntaxCheck("bash", broken).status).not.toBe(0);
  });

  /** Runs _keeper on a command line whose last word is being completed; returns COMPREPLY. */
  const complete = (...words: string[]): string[] =>
    lines(execFileSync("bash", ["-c", `source ${quote(path)}; COMP_WORDS=(${words.map(quote).join(" ")}); COMP_CWORD=${words.length - 1}; _keeper; printf '%s\\n' "\${COMPREPLY[@]}"`], { cwd: work.path, encoding: "utf8" }));

  it.each([
    { words: ["keeper", "wh"], expected: ["whoami"] },
    { words: ["keeper", "exp"], expected: ["export"] },
    { words: ["keeper", "--ver"], expected: ["--version"] },
    { words: ["keeper", "ls", "--rec"], expected: ["--recursive"] },
    { words: ["keeper", "watch", "--fo"], expected: ["--follow"] },
    { words: ["keeper", "copy", "--from-"], expected: ["--from-auth"] },
    { words: ["keeper", "get", "--conn"], expected: ["--connect"] },
    // restore works on a data directory, not a session: no connection flags.
    { words: ["keeper", "restore", "--"], expected: ["--help", "--data-dir", "--server-id", "--output"] },
  ])("completes $words", ({ words, expected }) => {
    expect(complete(...words)).toEqual(expected);
  });

  it("registers _keeper for the keeper command and completes file names after a command", () => {
    writeFileSync(join(work.path, "tree-export.json"), "{}");
    expect(complete("keeper", "import", "tree-ex")).toEqual(["tree-export.json"]);
    expect(execFileSync("bash", ["-c", `source ${quote(path)}; complete -p keeper`], { encoding: "utf8" }).trim()).toBe("complete -F _keeper keeper");
  });
});

describe("zsh completion", () => {
  const path = script("zsh");

  it("parses under zsh -n", () => {
    expect(syntaxCheck("zsh", path)).toEqual({ status: 0, stderr: "" });
  });

  /**
   * Sources the script with `words`, CURRENT and PREFIX set as the completion system sets them;
   * returns the candidates offered that start with the word being completed, as compadd would.
   */
  const complete = (...words: string[]): string[] => {
    const prefix = words[words.length - 1]!;
    const stubs = `compadd() { [[ $1 == -- ]] && shift; print -rl -- "$@"; }; _files() { print -r -- '<files>'; }`;
    const out = execFileSync("zsh", ["-f", "-c", `${stubs}; words=(${words.map(quote).join(" ")}); CURRENT=${words.length}; PREFIX=${quote(prefix)}; source ${quote(path)}`], { encoding: "utf8" });
    return lines(out).filter((c) => c === "<files>" || c.startsWith(prefix));
  };

  it.each([
    { words: ["keeper", "wh"], expected: ["whoami"] },
    { words: ["keeper", "--ver"], expected: ["--version"] },
    { words: ["keeper", "ls", "--rec"], expected: ["--recursive"] },
    { words: ["keeper", "watch", "--fo"], expected: ["--follow"] },
    { words: ["keeper", "get", "--conn"], expected: ["--connect"] },
    { words: ["keeper", "import", "tree"], expected: ["<files>"] },
  ])("completes $words", ({ words, expected }) => {
    expect(complete(...words)).toEqual(expected);
  });
});
