/**
 * The part of zod that rp's own schemas use, as one module; import it as
 * `import * as z from './zod.js'`, never 'zod' itself. The build bundles this module with esbuild
 * (scripts/bundle-zod.mjs), keeping only what is named here: zod's package entry also loads every
 * one of its 60-odd locales and the rest of its API, which every rp command paid for at start.
 * A name not listed here does not type-check, so the bundle cannot lack one that is used.
 * `rp serve`'s request schemas (api-requests.ts) use zod itself: the fastify type provider needs
 * zod's own classes.
 */
export {
  array,
  boolean,
  coerce,
  discriminatedUnion,
  enum,
  iso,
  literal,
  null,
  number,
  object,
  record,
  strictObject,
  string,
  union,
  ZodType,
} from 'zod';
export type { core, infer, output, ZodError, ZodRawShape } from 'zod';
