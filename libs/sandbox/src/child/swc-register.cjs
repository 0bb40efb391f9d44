// Lets a sandbox child run straight from the TypeScript sources (Jest, local
// scripts): SandboxPool adds `--require` of this file when it finds itself
// loaded from a .ts file. Builds run the compiled .js child and never load it.
'use strict';
const fs = require('node:fs');
const Module = require('node:module');
const path = require('node:path');
const { transformSync } = require('@swc/core');

// The repository root (…/libs/sandbox/src/child → …), for the @kiln/* paths.
const ROOT = path.resolve(__dirname, '..', '..', '..', '..');

function compile(module, filename) {
  const { code } = transformSync(fs.readFileSync(filename, 'utf8'), {
    filename,
    swcrc: false,
    configFile: false,
    sourceMaps: 'inline',
    jsc: {
      parser: { syntax: 'typescript' },
      target: 'es2023',
      keepClassNames: true,
      // Same aliases as .swcrc, so the child can import other libs (@kiln/core).
      baseUrl: ROOT,
      paths: { '@kiln/*': ['libs/*/src/index.ts'] },
    },
    module: { type: 'commonjs', strictMode: true },
  });
  module._compile(code, filename);
}

// Module._extensions is what require.extensions points at; Node 24 has its
// own type-stripping entry for .ts, which cannot handle every TS construct.
Module._extensions['.ts'] = compile;
