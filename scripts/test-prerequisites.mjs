// `npm test` starts with this: the full suite runs outside software (ZooKeeper, kazoo, Curator,
// promtool, Chromium, iptables, docker-compose, zsh) and needs root for iptables. When something is
// missing, say exactly what and how to get it, instead of letting dozens of tests fail one by
// one. The list is the one .ci/run installs; keep the two in step.
import { accessSync, constants, existsSync } from "node:fs";
import { delimiter, join } from "node:path";

const onPath = (cmd) => (process.env.PATH ?? "").split(delimiter).some((dir) => {
  try {
    accessSync(join(dir, cmd), constants.X_OK);
    return true;
  } catch {
    return false;
  }
});

/** Debian package -> is it there (checked as .ci/run checks it). */
const packages = {
  "docker-compose": onPath("docker-compose"),
  "python3-kazoo": existsSync("/usr/lib/python3/dist-packages/kazoo/client.py"),
  zookeeper: existsSync("/usr/share/zookeeper/bin/zkCli.sh"),
  "zookeeper-bin": existsSync("/usr/lib/zookeeper/bin/cli_mt"),
  "libcurator-recipes-java": existsSync("/usr/share/java/curator-recipes.jar"),
  "default-jdk-headless": onPath("javac"),
  prometheus: onPath("promtool"),
  chromium: existsSync("/usr/bin/chromium"),
  iptables: onPath("iptables"),
  zsh: onPath("zsh"),
};
const missing = Object.entries(packages).filter(([, ok]) => !ok).map(([name]) => name);
const problems = [];
if (process.platform !== "linux") problems.push(`the full suite runs on Linux (this is ${process.platform})`);
if (process.getuid?.() !== 0) problems.push("it must run as root: test/chaos partitions nodes with iptables on loopback");
if (missing.length > 0) problems.push(`Debian packages missing: ${missing.join(" ")}\n    install them: apt-get update && apt-get install -y --no-install-recommends ${missing.join(" ")}`);
if (problems.length > 0) {
  process.stderr.write(
    [
      "npm test: this machine cannot run the full suite:",
      ...problems.map((p) => `  - ${p}`),
      "On a fresh Debian machine, as root, .ci/run installs what is missing and runs npm test.",
      "Without them, `npm run test:unit` runs the unit suites (packages/*), which need none of this.",
      "",
    ].join("\n"),
  );
  process.exit(1);
}
