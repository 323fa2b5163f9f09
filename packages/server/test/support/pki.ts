/**
 * Test PKI made with the real `openssl` at test time in a temp directory: no private key is
 * ever committed. A client CA, a server certificate for 127.0.0.1/localhost, client
 * certificates issued by that CA, a self-signed client certificate, and a client certificate
 * from an unrelated CA.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Credential {
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
}

export interface TestPki {
  dir: string;
  caFile: string;
  ca: string;
  server: Credential;
  /** Issued by the CA: subject `CN=payments-client,O=Acme`, SAN DNS `payments.acme.test`. */
  client: Credential;
  /** Issued by the CA: another subject. */
  otherClient: Credential;
  /** Self-signed, subject `CN=self-signed-client`. */
  selfSigned: Credential;
  /** Issued by an unrelated CA, with the same subject as `client`. */
  rogue: Credential;
  close(): Promise<void>;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

async function load(dir: string, name: string): Promise<Credential> {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  return {
    certFile,
    keyFile,
    cert: await readFile(certFile, 'utf8'),
    key: await readFile(keyFile, 'utf8'),
  };
}

const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

function makeCa(dir: string, name: string, subject: string): void {
  openssl(
    [
      'req',
      '-x509',
      ...ecKey,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.crt`,
      '-days',
      '2',
      '-subj',
      subject,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
}

async function issue(
  dir: string,
  ca: string,
  name: string,
  subject: string,
  extensions: string,
): Promise<void> {
  openssl(
    ['req', '-new', ...ecKey, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject],
    dir,
  );
  await writeFile(join(dir, `${name}.ext`), extensions);
  openssl(
    [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${ca}.crt`,
      '-CAkey',
      `${ca}.key`,
      '-CAcreateserial',
      '-out',
      `${name}.crt`,
      '-days',
      '2',
      '-extfile',
      `${name}.ext`,
    ],
    dir,
  );
}

export async function createTestPki(): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), 'tessera-pki-'));
  makeCa(dir, 'ca', '/CN=Tessera Test Client CA');
  makeCa(dir, 'rogue-ca', '/CN=Rogue CA');
  await issue(
    dir,
    'ca',
    'server',
    '/CN=localhost',
    'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n',
  );
  const clientExt = (dns: string) =>
    `subjectAltName=DNS:${dns}\nextendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n`;
  await issue(dir, 'ca', 'client', '/O=Acme/CN=payments-client', clientExt('payments.acme.test'));
  await issue(dir, 'ca', 'other', '/O=Acme/CN=other-client', clientExt('other.acme.test'));
  await issue(
    dir,
    'rogue-ca',
    'rogue',
    '/O=Acme/CN=payments-client',
    clientExt('payments.acme.test'),
  );
  openssl(
    [
      'req',
      '-x509',
      ...ecKey,
      '-keyout',
      'self.key',
      '-out',
      'self.crt',
      '-days',
      '2',
      '-subj',
      '/CN=self-signed-client',
    ],
    dir,
  );
  return {
    dir,
    caFile: join(dir, 'ca.crt'),
    ca: await readFile(join(dir, 'ca.crt'), 'utf8'),
    server: await load(dir, 'server'),
    client: await load(dir, 'client'),
    otherClient: await load(dir, 'other'),
    selfSigned: await load(dir, 'self'),
    rogue: await load(dir, 'rogue'),
    close: () => rm(dir, { recursive: true, force: true }),
  };
}
