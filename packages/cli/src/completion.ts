// `keeper completion bash|zsh`: a completion script built from the command table itself, so a
// new command or flag completes without anyone editing the script.
import type { OptionSpecs } from "./args.ts";
import { UsageError } from "./errors.ts";

export interface CompletionEntry {
  name: string;
  options: OptionSpecs;
}

/**
 * "--recursive -R --output -o" for one command: every long flag, then its short form. The
 * connection flags are in each client command's table already; the scripts add none of their
 * own, so server, restore and the like are not offered a --connect they would refuse.
 */
function flags(options: OptionSpecs): string[] {
  const out = ["--help"];
  for (const [name, spec] of Object.entries(options)) {
    if (name === "help") continue;
    out.push(`--${name}`);
    if (spec.short !== undefined) out.push(`-${spec.short}`);
  }
  return out;
}

const safe = (word: string) => {
  // Names and flags come from our own tables; check anyway, since they end up in shell code.
  if (!/^[A-Za-z0-9_-]+$/.test(word)) throw new Error(`completion: unexpected word ${JSON.stringify(word)}`);
  return word;
};

export function bashCompletion(entries: readonly CompletionEntry[]): string {
  const names = entries.map((e) => safe(e.name)).join(" ");
  const cases = entries.map((e) => `    ${safe(e.name)}) opts="${flags(e.options).map(safe).join(" ")}" ;;`).join("\n");
  return `# bash completion for keeper: source it, or save it as
# /etc/bash_completion.d/keeper (keeper completion bash > ...).
_keeper() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" opts=""
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "${names} help --version" -- "$cur"))
    return 0
  fi
  case "\${COMP_WORDS[1]}" in
${cases}
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
  return 0
}
complete -F _keeper keeper
`;
}

export function zshCompletion(entries: readonly CompletionEntry[]): string {
  const names = entries.map((e) => safe(e.name)).join(" ");
  const cases = entries.map((e) => `    ${safe(e.name)}) opts=(${flags(e.options).map(safe).join(" ")}) ;;`).join("\n");
  return `#compdef keeper
# zsh completion for keeper: save it as _keeper in a directory of $fpath
# (keeper completion zsh > ~/.zsh/completions/_keeper), then run compinit.
_keeper() {
  local -a opts
  if (( CURRENT == 2 )); then
    compadd -- ${names} help --version
    return
  fi
  case $words[2] in
${cases}
  esac
  if [[ $PREFIX == -* ]]; then
    compadd -- $opts
  else
    _files
  fi
}
_keeper "$@"
`;
}

export function completionScript(shell: string | undefined, entries: readonly CompletionEntry[]): string {
  if (shell === "bash") return bashCompletion(entries);
  if (shell === "zsh") return zshCompletion(entries);
  throw new UsageError(`completion: expected bash or zsh${shell === undefined ? "" : `, got "${shell}"`}`);
}
