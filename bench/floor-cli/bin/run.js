#!/usr/bin/env node
// The same entry point as rp's bin/run.js, for a CLI with one command: what any oclif CLI pays.
import { execute } from '@oclif/core';

await execute({ dir: import.meta.url });
