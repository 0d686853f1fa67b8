// Certificates for the TLS tests, made with openssl: a CA of the test's own, and a server
// certificate it signed for the names clients dial (127.0.0.1 and localhost). Clients verify
// the server against the CA, so a test that passes really checked the chain and the name.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { get as httpsGet } from "node:https";
import { join } from "node:path";

export interface TestCerts {
  /** PEM files in the directory given. */
  caPath: string;
  certPath: string;
  keyPath: string;
  ca: Buffer;
}

/** Makes ca.pem, server.pem and server.key in `dir` (valid for two days). */
export function makeTestCerts(dir: string): TestCerts {
  const ossl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  ossl("req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=keeper test CA", "-days", "2");
  // Clients check the name they dialled: the certificate names 127.0.0.1 and localhost.
  writeFileSync(join(dir, "san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  ossl("req", ...ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost");
  ossl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "san.ext");
  return { caPath: join(dir, "ca.pem"), certPath: join(dir, "server.pem"), keyPath: join(dir, "server.key"), ca: readFileSync(join(dir, "ca.pem")) };
}

/**
 * A client certificate the test CA of `dir` signed (makeTestCerts first), for subject `subj`
 * ("/O=keeper test/CN=alice"): `name`.pem and `name`.key in `dir`.
 */
export function makeClientCert(dir: string, name: string, subj: string): { certPath: string; keyPath: string; cert: Buffer; key: Buffer } {
  const ossl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  ossl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subj);
  ossl("x509", "-req", "-in", `${name}.csr`, "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${name}.pem`, "-days", "2");
  const certPath = join(dir, `${name}.pem`);
  const keyPath = join(dir, `${name}.key`);
  return { certPath, keyPath, cert: readFileSync(certPath), key: readFileSync(keyPath) };
}

/** GET https://host:port/path, trusting only `ca`. */
export function httpsJson(port: number, path: string, ca: Buffer, host = "127.0.0.1"): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsGet({ host, port, path, ca, timeout: 2_000 }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error("timeout")));
  });
}
