// ZooKeeper's 4lw.commands.whitelist: which four-letter words a node answers. A word left out is
// answered as ZooKeeper answers it, so monitoring scripts see why.
import { ConfigError } from "../config.ts";

/** Every word Keeper knows; "*" in the setting stands for all of them. */
export const FOUR_LETTER_WORDS = ["conf", "cons", "crst", "dirs", "dump", "envi", "gtmk", "hash", "isro", "mntr", "ruok", "srst", "srvr", "stat", "stmk", "wchc", "wchp", "wchs"] as const;

/** Parses "srvr, ruok" or "*" into the set of words answered. */
export function parseFourLetterWhitelist(spec: string): ReadonlySet<string> {
  const words = spec.split(",").map((w) => w.trim()).filter((w) => w !== "");
  if (words.includes("*")) return new Set(FOUR_LETTER_WORDS);
  for (const w of words) if (!/^[a-z]{4}$/.test(w)) throw new ConfigError(`fourLetterWords: "${w}" is not a four-letter word (give a comma-separated list, or *)`);
  return new Set(words);
}

export function notWhitelisted(word: string): string {
  return `${word} is not executed because it is not in the whitelist.\n`;
}
