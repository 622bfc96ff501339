#!/usr/bin/env node
// The `parley` command from the TypeScript sources, through tsx, with no build: for working
// on Parley (the tests run it). The installed command is the compiled dist/parley.js
// (package.json "bin", made by `npm run build`).
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
