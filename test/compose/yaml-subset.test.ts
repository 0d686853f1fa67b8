// The YAML subset reader used by the compose test: what it reads, what it refuses, and (when
// PyYAML is installed, as it is with Debian's docker-compose) that it reads our compose files
// exactly as a full YAML implementation does.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parseYamlSubset, YamlSubsetError } from "./yaml-subset.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const COMPOSE_FILES = ["docker-compose.yml", "deploy/docker-compose.5.yml"];

function pyYamlAvailable(): boolean {
  const r = spawnSync("python3", ["-c", "import yaml"], { stdio: "ignore" });
  return r.status === 0;
}

function pyYamlLoad(text: string): unknown {
  const r = spawnSync("python3", ["-c", "import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)"], { input: text, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`PyYAML failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

describe("parseYamlSubset", () => {
  it("reads nested block mappings, sequences and scalars", () => {
    const doc = `
# a comment
services:
  web:
    image: keeper:local   # trailing comment
    init: true
    restart: unless-stopped
    replicas: 3
    ratio: 0.5
    nothing:
    tilde: ~
    environment:
      A: "1"
      B: '2 # not a comment'
      C: "tab\\there \\"q\\" \\u00e9"
      D: 'it''s'
      URL: http://x:80/a#frag
    ports:
      - "8181:8181" # client
      - 2888:2888
    test: ["CMD", node, 'x.mjs', 42]
    empty: []
    none: {}
volumes:
  data1:
  data2:
`;
    expect(parseYamlSubset(doc)).toEqual({
      services: {
        web: {
          image: "keeper:local",
          init: true,
          restart: "unless-stopped",
          replicas: 3,
          ratio: 0.5,
          nothing: null,
          tilde: null,
          environment: { A: "1", B: "2 # not a comment", C: 'tab\there "q" é', D: "it's", URL: "http://x:80/a#frag" },
          ports: ["8181:8181", "2888:2888"],
          test: ["CMD", "node", "x.mjs", 42],
          empty: [],
          none: {},
        },
      },
      volumes: { data1: null, data2: null },
    });
  });

  it("reads sequences of mappings, indented or at their key's indent (docker-compose config style)", () => {
    const doc = ["ports:", "- published: 8181", "  target: 8181", "- published: 8182", "  target: 8181", "list:", "  - - a", "    - b", "  -", "    k: v", "  - -1"].join("\n");
    expect(parseYamlSubset(doc)).toEqual({
      ports: [
        { published: 8181, target: 8181 },
        { published: 8182, target: 8181 },
      ],
      list: [["a", "b"], { k: "v" }, -1],
    });
  });

  it("treats an empty document as null and allows one leading ---", () => {
    expect(parseYamlSubset("# only a comment\n")).toBeNull();
    expect(parseYamlSubset("---\na: 1\n")).toEqual({ a: 1 });
  });

  it.each([
    ["anchor", "a: &x 1"],
    ["alias", "a: *x"],
    ["merge key", "a:\n  <<: b"],
    ["block scalar", "a: |\n  text"],
    ["folded scalar", "a: >\n  text"],
    ["flow mapping", "a: {b: 1}"],
    ["tag", "a: !!str 1"],
    ["second document", "a: 1\n---\nb: 2"],
    ["duplicate key", "a: 1\na: 2"],
    ["bad indentation", "a:\n  b: 1\n    c: 2"],
    ["unterminated quote", 'a: "open'],
    ["text after a quote", 'a: "x" y'],
    ["multi-line flow sequence", "a: [1,\n  2]"],
    ["nested flow sequence", "a: [[1]]"],
    ["tab indentation", "a:\n\tb: 1"],
    ["not a mapping entry", "a: 1\nb"],
  ])("rejects a %s", (_name, doc) => {
    expect(() => parseYamlSubset(doc)).toThrow(YamlSubsetError);
  });

  it("names the line of the problem", () => {
    expect(() => parseYamlSubset("a: 1\nb: 2\nc: &anchor 3")).toThrow(/line 3/);
  });

  const withPy = pyYamlAvailable();
  it.skipIf(!withPy).each(COMPOSE_FILES)("reads %s exactly as PyYAML does", (file) => {
    const text = readFileSync(join(ROOT, file), "utf8");
    expect(parseYamlSubset(text)).toEqual(pyYamlLoad(text));
  });
  if (!withPy) it.skip("PyYAML cross-check skipped: python3 with the yaml module is not installed (apt-get install -y docker-compose brings it)", () => {});
});
