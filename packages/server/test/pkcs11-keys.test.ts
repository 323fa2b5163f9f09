import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { accessTokenType, type SigningAlgorithm } from '@tessera/protocol';
import { decodeProtectedHeader, importJWK, jwtVerify } from 'jose';
import { pino } from 'pino';
import { keyMaintenance } from '../src/keys/key-maintenance.js';
import { KeyRing } from '../src/keys/key-ring.js';
import { KeyStores } from '../src/keys/key-stores.js';
import { rotateKey } from '../src/keys/rotate-key.js';
import { KeyEncryptionKey } from '../src/lib/kek.js';
import { openStore, parseDatabaseUrl } from '../src/store/open-store.js';
import {
  KeyStoreUnavailableError,
  type KeyStore,
  type KeyStoreHealth,
} from '../src/keys/key-store.js';
import { ecdsaSignatureToJose } from '../src/keys/pkcs11/ecdsa-signature.js';
import { pkcs11Pin } from '../src/keys/pkcs11/pin.js';
import { pkcs11ErrorName } from '../src/keys/pkcs11/pkcs11-token.js';
import { maxSignBatch, SignWorkers } from '../src/keys/pkcs11/sign-workers.js';
import { Pkcs11KeyStore } from '../src/keys/pkcs11-key-store.js';
import { SealedKeyStore } from '../src/keys/sealed-key-store.js';
import {
  createSoftHsmToken,
  softhsmModule,
  softhsmSkipReason,
  type SoftHsmToken,
} from './support/softhsm.js';

const algorithms: SigningAlgorithm[] = ['RS256', 'PS256', 'ES256', 'EdDSA'];
const claims = { iss: 'https://issuer.test', sub: 'client-1', client_id: 'client-1', jti: 'j1' };

async function assertVerifies(store: KeyStore, alg: SigningAlgorithm): Promise<void> {
  const key = await store.generate(alg);
  assert.equal(key.alg, alg);
  const signer = await store.signer(key);
  const tokens = await Promise.all(
    Array.from({ length: 12 }, (_, i) => signer.sign({ ...claims, jti: `j${i}` })),
  );
  const publicKey = await importJWK(key.publicJwk as Parameters<typeof importJWK>[0], alg);
  for (const [i, token] of tokens.entries()) {
    assert.deepEqual(decodeProtectedHeader(token), { alg, typ: accessTokenType, kid: key.kid });
    const { payload } = await jwtVerify(token, publicKey, { algorithms: [alg] });
    assert.equal(payload.jti, `j${i}`);
  }
}

describe('sealed key store', () => {
  const store = new SealedKeyStore(new KeyEncryptionKey([Buffer.alloc(32, 7)]));
  for (const alg of algorithms) {
    it(`signs ${alg} tokens that jose verifies against the public JWK`, async () => {
      await assertVerifies(store, alg);
    });
  }
});

describe('ECDSA signature conversion to JOSE r||s', () => {
  it('keeps raw r||s and converts DER, including short and padded integers', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    for (let i = 0; i < 200; i++) {
      const data = Buffer.from(`message ${i}`);
      const der = sign('sha256', data, privateKey);
      const raw = ecdsaSignatureToJose(der, 32);
      assert.equal(raw.length, 64);
      assert.ok(sign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' }).length === 64);
      assert.equal(ecdsaSignatureToJose(raw, 32), raw);
    }
    assert.throws(() => ecdsaSignatureToJose(Buffer.from('3003020100', 'hex'), 32));
  });
});

describe(
  'PKCS#11 key store on SoftHSM2',
  { skip: softhsmSkipReason('PKCS#11 key store tests') },
  () => {
    let token: SoftHsmToken;
    let store: Pkcs11KeyStore;
    const healthChanges: KeyStoreHealth['state'][] = [];

    before(() => {
      token = createSoftHsmToken();
      store = Pkcs11KeyStore.open({
        modulePath: softhsmModule,
        tokenLabel: token.label,
        pin: token.pin,
        pinSource: 'TESSERA_PKCS11_PIN',
        probeIntervalMs: 250,
        onHealthChange: (health) => healthChanges.push(health.state),
      });
    });
    after(async () => {
      await store?.close();
      token?.remove();
    });

    for (const alg of algorithms) {
      it(`signs ${alg} tokens inside the token that jose verifies against the public JWK`, async () => {
        await assertVerifies(store, alg);
      });
    }

    it('generates keys inside the token that cannot be exported, read or wrapped', async () => {
      const rsa = await store.generate('RS256');
      const ec = await store.generate('ES256');
      assert.equal(rsa.location.store, 'pkcs11');
      assert.deepEqual(
        { ...rsa.location, keyLabel: undefined },
        { store: 'pkcs11', tokenLabel: token.label, keyLabel: undefined },
      );
      const { p } = store.token;
      await store.token.withSession(async (lib, session) => {
        for (const key of [rsa, ec]) {
          assert.equal(key.location.store, 'pkcs11');
          const label = key.location.store === 'pkcs11' ? key.location.keyLabel : '';
          assert.match(label, /^tessera-(rs256|es256)-[0-9a-f]{16}$/);
          const handle = store.token.privateKey(session, label);
          const flags = lib
            .C_GetAttributeValue(session, handle, [
              { type: p.CKA_TOKEN },
              { type: p.CKA_SENSITIVE },
              { type: p.CKA_EXTRACTABLE },
              { type: p.CKA_NEVER_EXTRACTABLE },
              { type: p.CKA_ALWAYS_SENSITIVE },
              { type: p.CKA_LOCAL },
            ])
            .map((attribute) => attribute.value[0]);
          // CKA_LOCAL: generated inside the token, never imported.
          assert.deepEqual(flags, [1, 1, 0, 1, 1, 1]);
          const secret = key.alg === 'RS256' ? p.CKA_PRIVATE_EXPONENT : p.CKA_VALUE;
          assert.throws(
            () => lib.C_GetAttributeValue(session, handle, [{ type: secret }]),
            (error) => pkcs11ErrorName(error) === 'CKR_ATTRIBUTE_SENSITIVE',
          );
          assert.throws(
            () =>
              lib.C_SetAttributeValue(session, handle, [{ type: p.CKA_EXTRACTABLE, value: true }]),
            (error) => pkcs11ErrorName(error) === 'CKR_ATTRIBUTE_READ_ONLY',
          );
          const wrappingKey = lib.C_GenerateKey(session, { mechanism: p.CKM_AES_KEY_GEN }, [
            { type: p.CKA_CLASS, value: p.CKO_SECRET_KEY },
            { type: p.CKA_VALUE_LEN, value: 32 },
            { type: p.CKA_WRAP, value: true },
            { type: p.CKA_TOKEN, value: false },
          ]);
          assert.throws(
            () =>
              lib.C_WrapKey(
                session,
                { mechanism: p.CKM_AES_KEY_WRAP_PAD },
                wrappingKey,
                handle,
                Buffer.alloc(8192),
              ),
            (error) => pkcs11ErrorName(error) === 'CKR_KEY_UNEXTRACTABLE',
          );
          lib.C_DestroyObject(session, wrappingKey);
        }
      });
    });

    it('signs on worker threads with a session each: many tokens at once all verify', async () => {
      const key = await store.generate('RS256');
      const signer = await store.signer(key);
      const publicKey = await importJWK(key.publicJwk as Parameters<typeof importJWK>[0], 'RS256');
      const tokens = await Promise.all(Array.from({ length: 100 }, (_, i) => signer.sign({ i })));
      for (const t of tokens) await jwtVerify(t, publicKey);
    });

    it('posts the signatures asked for in one event-loop turn in batches, each answered on its own', async () => {
      const key = await store.generate('RS256');
      const label = key.location.store === 'pkcs11' ? key.location.keyLabel : '';
      const publicKey = createPublicKey({ key: { ...key.publicJwk }, format: 'jwk' });
      const { p } = store.token;
      const workers = new SignWorkers(softhsmModule, 1);
      try {
        await store.token.withSession(async (_lib, session) => {
          const handle = store.token.privateKey(session, label);
          const unknown = Buffer.alloc(handle.length);
          unknown.writeUInt32LE(0x7ffffff0);
          const count = 2 * maxSignBatch + 3;
          const inputs = Array.from({ length: count }, (_, i) => Buffer.from(`signing input ${i}`));
          const results = await Promise.allSettled(
            inputs.map((data, i) =>
              workers.sign(
                [session],
                i % 4 === 3 ? unknown : handle,
                { mechanism: p.CKM_SHA256_RSA_PKCS },
                data,
              ),
            ),
          );
          assert.equal(workers.posted, Math.ceil(count / maxSignBatch));
          for (const [i, result] of results.entries()) {
            if (i % 4 === 3) {
              assert.equal(result.status, 'rejected', `request ${i} names an unknown key`);
              const name = pkcs11ErrorName(
                result.status === 'rejected' ? result.reason : undefined,
              );
              assert.ok(
                name === 'CKR_KEY_HANDLE_INVALID' || name === 'CKR_OBJECT_HANDLE_INVALID',
                String(name),
              );
            } else {
              assert.equal(result.status, 'fulfilled', `request ${i}`);
              const signature = result.status === 'fulfilled' ? result.value : Buffer.alloc(0);
              assert.ok(
                verify('sha256', inputs[i]!, publicKey, signature),
                `signature ${i} verifies`,
              );
            }
          }
          assert.equal(workers.busy, 0);
        });
      } finally {
        await workers.close();
      }
    });

    it('destroys a key: both halves leave the token and it can no longer sign', async () => {
      const key = await store.generate('ES256');
      const signer = await store.signer(key);
      await signer.sign(claims);
      await store.destroy(key.location);
      const label = key.location.store === 'pkcs11' ? key.location.keyLabel : '';
      await store.token.withSession(async (_lib, session) => {
        assert.deepEqual(store.token.findObjects(session, label), []);
      });
      await assert.rejects(signer.sign(claims), /expected 1/);
    });

    it('refuses keys of another token or of the sealed store', async () => {
      await assert.rejects(
        store.signer({
          kid: 'k',
          alg: 'RS256',
          location: { store: 'pkcs11', tokenLabel: 'other', keyLabel: 'x' },
        }),
        /lives in PKCS#11 token "other"/,
      );
      await assert.rejects(
        store.signer({
          kid: 'k',
          alg: 'RS256',
          location: { store: 'sealed', encryptedPrivateKey: 'x' },
        }),
        /lives among the sealed keys/,
      );
    });

    /** Moves `path` away until the store notices, checks the reason, moves it back. */
    async function loseAndRecover(path: string, reason: RegExp): Promise<void> {
      const key = await store.generate('RS256');
      const signer = await store.signer(key);
      const publicKey = await importJWK(key.publicJwk as Parameters<typeof importJWK>[0], 'RS256');
      await signer.sign(claims);
      healthChanges.length = 0;
      const away = join(token.dir, 'away');
      renameSync(path, away);
      const lostAt = Date.now();
      try {
        while (store.health().state === 'ok') {
          assert.ok(Date.now() - lostAt < 10_000, 'token loss noticed within 10 s');
          await new Promise((r) => setTimeout(r, 50));
        }
        await assert.rejects(signer.sign(claims), KeyStoreUnavailableError);
        // Several probe ticks with the token away, each re-initialising the module.
        await new Promise((r) => setTimeout(r, 1000));
        const health = store.health();
        assert.equal(health.state, 'unavailable');
        assert.match(health.state === 'unavailable' ? health.reason : '', reason);
      } finally {
        renameSync(away, path);
      }
      const backAt = Date.now();
      while (store.health().state !== 'ok') {
        assert.ok(Date.now() - backAt < 30_000, 'signing again within 30 s of the token returning');
        await new Promise((r) => setTimeout(r, 50));
      }
      await jwtVerify(await signer.sign(claims), publicKey);
      assert.deepEqual(healthChanges, ['unavailable', 'ok']);
    }

    it('answers unavailable when the token goes away, and signs again after it returns', async () => {
      const [tokenFiles] = readdirSync(token.tokenDir);
      // SoftHSM2 then lists the slot without our token until the token's files return.
      await loseAndRecover(
        join(token.tokenDir, tokenFiles!),
        new RegExp(`no PKCS#11 token labelled "${token.label}"`),
      );
    });

    it('answers unavailable while the module fails, and signs again once it initialises', async () => {
      // Without its token directory SoftHSM2 fails C_Initialize itself.
      await loseAndRecover(token.tokenDir, /failed to initialise: CKR_GENERAL_ERROR/);
    });

    it('stops with a message naming TESSERA_PKCS11_PIN when the PIN is wrong', async () => {
      // The library is process-wide: close the suite's store so this one initialises it afresh.
      await store.close();
      try {
        assert.throws(
          () =>
            Pkcs11KeyStore.open({
              modulePath: softhsmModule,
              tokenLabel: token.label,
              pin: 'wrong-pin',
              pinSource: 'TESSERA_PKCS11_PIN',
            }),
          (error: Error) =>
            error.message ===
            `PKCS#11 token "${token.label}" rejected the PIN (CKR_PIN_INCORRECT): check TESSERA_PKCS11_PIN`,
        );
        const pinFile = join(token.dir, 'pin');
        writeFileSync(pinFile, 'also-wrong\n');
        assert.throws(
          () =>
            Pkcs11KeyStore.open({
              modulePath: softhsmModule,
              tokenLabel: token.label,
              ...pkcs11Pin({ pinFile }),
            }),
          /check the file named by TESSERA_PKCS11_PIN_FILE/,
        );
        writeFileSync(pinFile, `${token.pin}\n`);
        const fromFile = Pkcs11KeyStore.open({
          modulePath: softhsmModule,
          tokenLabel: token.label,
          ...pkcs11Pin({ pinFile }),
        });
        await fromFile.close();
      } finally {
        store = Pkcs11KeyStore.open({
          modulePath: softhsmModule,
          tokenLabel: token.label,
          pin: token.pin,
          pinSource: 'TESSERA_PKCS11_PIN',
        });
      }
    });

    it('matches the token label exactly, never by prefix', async () => {
      await store.close();
      try {
        assert.throws(
          () =>
            Pkcs11KeyStore.open({
              modulePath: softhsmModule,
              tokenLabel: token.label.slice(0, -1),
              pin: token.pin,
              pinSource: 'TESSERA_PKCS11_PIN',
            }),
          (error: Error) =>
            error.message.startsWith(
              `no PKCS#11 token labelled "${token.label.slice(0, -1)}" (TESSERA_PKCS11_TOKEN_LABEL); tokens present: "${token.label}"`,
            ),
        );
        assert.throws(
          () =>
            Pkcs11KeyStore.open({
              modulePath: '/nonexistent/libpkcs11.so',
              tokenLabel: token.label,
              pin: token.pin,
              pinSource: 'TESSERA_PKCS11_PIN',
            }),
          /cannot load the PKCS#11 module \/nonexistent\/libpkcs11.so \(TESSERA_PKCS11_MODULE\)/,
        );
      } finally {
        store = Pkcs11KeyStore.open({
          modulePath: softhsmModule,
          tokenLabel: token.label,
          pin: token.pin,
          pinSource: 'TESSERA_PKCS11_PIN',
        });
      }
    });

    it('reports a module that fails to initialise (a broken SoftHSM2 configuration)', async () => {
      await store.close();
      const conf = process.env.SOFTHSM2_CONF;
      process.env.SOFTHSM2_CONF = join(token.dir, 'missing.conf');
      try {
        assert.throws(
          () =>
            Pkcs11KeyStore.open({
              modulePath: softhsmModule,
              tokenLabel: token.label,
              pin: token.pin,
              pinSource: 'TESSERA_PKCS11_PIN',
            }),
          /the PKCS#11 module \/usr\/lib\/softhsm\/libsofthsm2.so failed to initialise: CKR_GENERAL_ERROR/,
        );
      } finally {
        process.env.SOFTHSM2_CONF = conf;
        store = Pkcs11KeyStore.open({
          modulePath: softhsmModule,
          tokenLabel: token.label,
          pin: token.pin,
          pinSource: 'TESSERA_PKCS11_PIN',
        });
      }
    });
  },
);

describe(
  'key ring over sealed and PKCS#11 keys',
  { skip: softhsmSkipReason('key ring over both key stores') },
  () => {
    it('keeps a sealed key signing after the switch, rotates into the token, destroys the retired key', async () => {
      const token = createSoftHsmToken(`tessera-ring-${process.pid}`);
      const dir = mkdtempSync(join(tmpdir(), 'tessera-ring-'));
      const store = await openStore(parseDatabaseUrl(`sqlite:${join(dir, 'tessera.db')}`));
      const kek = new KeyEncryptionKey([Buffer.alloc(32, 9)]);
      const pkcs11 = Pkcs11KeyStore.open({
        modulePath: softhsmModule,
        tokenLabel: token.label,
        pin: token.pin,
        pinSource: 'TESSERA_PKCS11_PIN',
      });
      try {
        let now = 1_000_000;
        // An installation with sealed keys…
        const before = await KeyRing.open(store, new KeyStores(kek), 'RS256', now);
        const sealedKid = before.signer('RS256')!.kid;
        // …switched to PKCS#11: the sealed key keeps signing until a rotation replaces it.
        const keys = await KeyRing.open(store, new KeyStores(kek, pkcs11), 'RS256', now);
        assert.equal(keys.signer('RS256')!.kid, sealedKid);
        const rotated = (await rotateKey(
          store,
          keys.keyStores.generating,
          'RS256',
          () => now,
          60,
        ))!;
        assert.equal(rotated.keyHandle?.store, 'pkcs11');
        assert.equal(rotated.keyHandle?.tokenLabel, token.label);
        assert.equal(rotated.encryptedPrivateKey, '');
        const stored = (await store.listKeys()).find((key) => key.kid === rotated.kid)!;
        assert.deepEqual(stored.keyHandle, rotated.keyHandle, 'the location survives the store');
        const maintain = keyMaintenance({
          store,
          keys,
          config: {
            signingAlg: 'RS256',
            keyRotationDays: undefined,
            jwksMaxAge: 60,
            defaultTokenTtl: 600,
          },
          preset: undefined,
          logger: pino({ level: 'silent' }),
          nowSeconds: () => now,
        });
        await keys.reload();
        now += 61;
        await maintain();
        assert.equal(keys.signer('RS256')!.kid, rotated.kid, 'the token key signs after the delay');
        const publicKey = await importJWK(
          rotated.publicJwk as Parameters<typeof importJWK>[0],
          'RS256',
        );
        await jwtVerify(await keys.signer('RS256')!.sign(claims), publicKey);
        // The sealed key retires (nothing to destroy); a second rotation retires the token key.
        const second = (await rotateKey(store, keys.keyStores.generating, 'RS256', () => now, 60))!;
        await keys.reload();
        now += 61;
        await maintain();
        assert.equal(keys.signer('RS256')!.kid, second.kid);
        now += 600 + 60;
        await maintain();
        const states = Object.fromEntries(keys.records.map((key) => [key.kid, key.state]));
        assert.deepEqual(states, {
          [sealedKid]: 'retired',
          [rotated.kid]: 'retired',
          [second.kid]: 'active',
        });
        await pkcs11.token.withSession(async (_lib, session) => {
          assert.deepEqual(pkcs11.token.findObjects(session, rotated.keyHandle!.keyLabel), []);
          assert.equal(pkcs11.token.findObjects(session, second.keyHandle!.keyLabel).length, 2);
        });
      } finally {
        await pkcs11.close();
        await store.close();
        token.remove();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  },
);

describe('PKCS#11 PIN settings', () => {
  it('takes TESSERA_PKCS11_PIN or the file named by TESSERA_PKCS11_PIN_FILE, not both, not neither', () => {
    assert.deepEqual(pkcs11Pin({ pin: '1234' }), { pin: '1234', pinSource: 'TESSERA_PKCS11_PIN' });
    assert.throws(() => pkcs11Pin({ pin: '1', pinFile: '/x' }), /not both/);
    assert.throws(
      () => pkcs11Pin({}),
      /TESSERA_PKCS11_PIN or in the file named by TESSERA_PKCS11_PIN_FILE/,
    );
    assert.throws(() => pkcs11Pin({ pinFile: '/nonexistent/pin' }), /ENOENT/);
  });
});
