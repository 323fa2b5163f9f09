import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const softhsmModule = '/usr/lib/softhsm/libsofthsm2.so';
const required = process.env.TESSERA_TEST_HSM === 'require';

/**
 * Why the HSM tests cannot run here (`undefined` when they can). With
 * `TESSERA_TEST_HSM=require` a missing SoftHSM2 fails the suite instead of skipping it.
 */
export function softhsmSkipReason(suite: string): string | false {
  const missing = !existsSync(softhsmModule)
    ? `${softhsmModule} is missing (apt-get install softhsm2)`
    : !commandExists('softhsm2-util')
      ? 'softhsm2-util is missing (apt-get install softhsm2)'
      : undefined;
  if (!missing) return false;
  if (required) throw new Error(`${missing} and TESSERA_TEST_HSM=require`);
  console.log(`# ${suite} skipped: ${missing}; set TESSERA_TEST_HSM=require to fail instead`);
  return missing;
}

function commandExists(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export interface SoftHsmToken {
  dir: string;
  tokenDir: string;
  conf: string;
  label: string;
  pin: string;
  soPin: string;
  /** Environment for child processes (`tessera serve`): SOFTHSM2_CONF and the PKCS#11 settings. */
  env: Record<string, string>;
  remove(): void;
}

/**
 * A fresh SoftHSM2 token in a temp directory. SoftHSM2 reads its configuration file once per
 * C_Initialize from SOFTHSM2_CONF, so this process's variable is pointed at it too.
 */
export function createSoftHsmToken(label = `tessera-test-${process.pid}`): SoftHsmToken {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-softhsm-'));
  const tokenDir = join(dir, 'tokens');
  mkdirSync(tokenDir);
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(
    conf,
    `directories.tokendir = ${tokenDir}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`,
  );
  const pin = '246810';
  const soPin = '13579111';
  const env = { SOFTHSM2_CONF: conf };
  execFileSync(
    'softhsm2-util',
    ['--init-token', '--free', '--label', label, '--so-pin', soPin, '--pin', pin],
    { env: { ...process.env, ...env }, stdio: 'ignore' },
  );
  process.env.SOFTHSM2_CONF = conf;
  return {
    dir,
    tokenDir,
    conf,
    label,
    pin,
    soPin,
    env: {
      ...env,
      TESSERA_SIGNING_KEYS: 'pkcs11',
      TESSERA_PKCS11_MODULE: softhsmModule,
      TESSERA_PKCS11_TOKEN_LABEL: label,
      TESSERA_PKCS11_PIN: pin,
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
