import { execa, type ResultPromise } from 'execa';
import { RP_BIN } from './cli.js';
import { waitForOutput } from './rp-project.js';

/** A real `rp serve` process on a free port of 127.0.0.1. */
export interface RunningServer {
  url: string;
  child: ResultPromise;
  stop(): Promise<void>;
}

export async function startServer(options: {
  cwd: string;
  env: Record<string, string>;
  args?: string[];
  /** Where to listen: `--listen 127.0.0.1:0` unless told. */
  listen?: string[];
}): Promise<RunningServer> {
  const child = execa(
    process.execPath,
    [RP_BIN, 'serve', ...(options.listen ?? ['--listen', '127.0.0.1:0']), ...(options.args ?? [])],
    { cwd: options.cwd, env: { NO_COLOR: '1', ...options.env }, reject: false, stdin: 'ignore' },
  );
  const [, url] = await waitForOutput(child, /listening on ((?:http:\/\/|unix:)\S+)/, {
    stream: 'stderr',
    timeoutMs: 60_000,
  });
  return {
    url: url as string,
    child,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await child;
    },
  };
}

export interface ApiAnswer<T = unknown> {
  status: number;
  body: T;
}

/** One request to the API with a bearer token (none when undefined), JSON in and out. */
export async function api<T = unknown>(
  server: { url: string },
  token: string | undefined,
  path: string,
  init: { method?: string; body?: unknown } = {},
): Promise<ApiAnswer<T>> {
  const headers: Record<string, string> = {};
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${server.url}${path}`, {
    method: init.method ?? 'GET',
    headers,
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await response.text();
  return { status: response.status, body: (text === '' ? undefined : JSON.parse(text)) as T };
}

export interface SseEvent {
  event: string;
  id: string | undefined;
  data: string;
}

/**
 * Reads a Server-Sent Events stream until an event of type `last` (or the stream's end) and
 * returns every event, parsed as the WHATWG format says.
 */
export async function readSse(
  url: string,
  headers: Record<string, string>,
  last = 'end',
): Promise<{ status: number; events: SseEvent[] }> {
  const controller = new AbortController();
  const response = await fetch(url, { headers, signal: controller.signal });
  if (!response.ok || response.body === null) {
    return { status: response.status, events: [] };
  }
  const events: SseEvent[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const chunk of response.body) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event: SseEvent = { event: 'message', id: undefined, data: '' };
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) continue;
          const [field, ...rest] = line.split(': ');
          const value = rest.join(': ');
          if (field === 'event') event.event = value;
          else if (field === 'id') event.id = value;
          else if (field === 'data') data.push(value);
        }
        if (data.length === 0 && event.id === undefined) continue;
        event.data = data.join('\n');
        events.push(event);
        if (event.event === last) return { status: response.status, events };
      }
    }
  } finally {
    controller.abort();
  }
  return { status: response.status, events };
}
