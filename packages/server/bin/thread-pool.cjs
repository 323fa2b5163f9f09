'use strict';

/**
 * How many threads libuv's pool gets: it signs access tokens off the event loop (node:crypto's
 * callback `sign`). libuv reads UV_THREADPOOL_SIZE once, when the pool starts, and an ES module
 * entry point starts it while loading, so the size is chosen here, in a CommonJS entry point,
 * before any ES module loads.
 *
 * ES256 and EdDSA signatures take 15–35 µs of CPU, so one pool thread keeps up with an event
 * loop that spends ~50 µs on each token, and Node's default of four only adds wake-ups and
 * context switches. On the 2-core benchmark machine, one thread issued ~20,000 ES256 tokens/s
 * where four issued ~14,000 (bench/README.md). An RSA-2048 signature takes ~250 µs, so RS256
 * needs several threads and keeps Node's default. A UV_THREADPOOL_SIZE set by the operator
 * always wins.
 */
const singleThreadAlgorithms = new Set(['ES256', 'EdDSA']);

/**
 * The settings read here, spelt as in the option table (src/config/options.ts), which cannot
 * be imported before ES modules load; test/options.test.ts checks that the two agree.
 */
const names = {
  signingAlgFlag: '--signing-alg',
  signingAlgEnv: 'TESSERA_SIGNING_ALG',
  threadPoolEnv: 'UV_THREADPOOL_SIZE',
};

/** The signing algorithm `serve` will use: `--signing-alg X`, `--signing-alg=X`, else the env. */
function signingAlgorithm(argv, env) {
  const flag = names.signingAlgFlag;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === flag) return argv[i + 1];
    if (argv[i].startsWith(`${flag}=`)) return argv[i].slice(flag.length + 1);
  }
  return env[names.signingAlgEnv];
}

/** The pool size to start with, or undefined to leave Node's default. */
function threadPoolSize(argv, env) {
  const operators = env[names.threadPoolEnv];
  if (operators !== undefined && operators !== '') return undefined;
  return singleThreadAlgorithms.has(signingAlgorithm(argv, env)) ? 1 : undefined;
}

module.exports = { threadPoolSize, names };
