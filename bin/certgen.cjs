#!/usr/bin/env node
// The `certgen` bin. It is CommonJS and tiny on purpose: libuv's thread pool, on which every RSA
// key is generated, starts as soon as the ES module loader reads its first file, and its size is
// read from UV_THREADPOOL_SIZE at that moment. Setting it here, before any ES module loads, lets a
// big `certgen apply` use every core (the default pool is 4 threads).
'use strict';
const os = require('node:os');

if (!process.env.UV_THREADPOOL_SIZE) process.env.UV_THREADPOOL_SIZE = String(Math.max(4, os.availableParallelism()));
import('../dist/cli.js').then((cli) => cli.runFromProcess());
