#!/usr/bin/env node
// `next-channels-dev`: a file that exists before the package is built, so that npm links the
// command at install time in a workspace too; the command itself is dist/dev/bin.js.
'use strict';
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS launcher
require('../dist/dev/bin.js');
