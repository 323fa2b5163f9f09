#!/usr/bin/env node
'use strict';

// CommonJS on purpose: libuv's thread pool must be sized before an ES module loads (see
// thread-pool.cjs). Child processes (`serve --workers N`) inherit the variable.
const { threadPoolSize } = require('./thread-pool.cjs');

const size = threadPoolSize(process.argv.slice(2), process.env);
if (size !== undefined) process.env.UV_THREADPOOL_SIZE = String(size);
import('../dist/cli/main.js');
