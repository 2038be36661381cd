import type * as z from './zod.js';
import { ConfigError } from './errors.js';

/**
 * Parses a JSON config file's text against a schema. Every problem becomes one ConfigError that
 * names the file, each bad field, and what the field allows (the schema's `.describe()` text).
 */
export function parseConfigFile<Schema extends z.ZodType>(
  text: string,
  file: string,
  schema: Schema,
  fixHint: string,
): z.output<Schema> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${file} is not valid JSON: ${(error as Error).message}`, {
      hint: fixHint,
    });
  }
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => describeIssue(issue, schema));
  throw new ConfigError(`${file} is invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`, {
    hint: fixHint,
  });
}

function describeIssue(issue: z.core.$ZodIssue, schema: z.ZodType): string {
  const field = issue.path.length > 0 ? issue.path.map(String).join('.') : '(top level)';
  if (issue.code === 'unrecognized_keys') {
    const allowed = allowedKeys(schema, issue.path);
    const suffix = allowed.length > 0 ? `; allowed fields: ${allowed.join(', ')}` : '';
    return `${field}: unknown field ${issue.keys.map((k) => `"${k}"`).join(', ')}${suffix}`;
  }
  const allowed = descriptionAt(schema, issue.path);
  return allowed ? `${field}: ${issue.message}; allowed: ${allowed}` : `${field}: ${issue.message}`;
}

/** The `.describe()` text of the schema node at `path`, following object shapes and arrays. */
function descriptionAt(schema: z.ZodType, path: readonly PropertyKey[]): string | undefined {
  let node: z.ZodType | undefined = schema;
  for (const key of path) {
    node = childOf(node, key);
    if (!node) return undefined;
  }
  return node.description;
}

function allowedKeys(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let node: z.ZodType | undefined = schema;
  for (const key of path) node = node ? childOf(node, key) : undefined;
  const shape = (node as { shape?: Record<string, unknown> } | undefined)?.shape;
  return shape ? Object.keys(shape) : [];
}

function childOf(node: z.ZodType, key: PropertyKey): z.ZodType | undefined {
  const def = (node as unknown as { def: Record<string, unknown> }).def;
  if (def.type === 'object') {
    return (def.shape as Record<string, z.ZodType>)[String(key)];
  }
  if (def.type === 'array') return def.element as z.ZodType;
  if (def.type === 'optional' || def.type === 'default' || def.type === 'nullable') {
    return childOf(def.innerType as z.ZodType, key);
  }
  return undefined;
}
