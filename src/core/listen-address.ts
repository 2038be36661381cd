/** `rp serve --listen HOST:PORT`. Pure. */
import { UsageError } from './errors.js';

export const DEFAULT_LISTEN = '127.0.0.1:8470';

export interface ListenAddress {
  host: string;
  /** 0: any free port (the server says which). */
  port: number;
}

/** "127.0.0.1:8470", "[::1]:8470", "0.0.0.0:0"; a usage error otherwise. */
export function parseListen(text: string): ListenAddress {
  const match = /^(?:\[([0-9a-fA-F:]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(text.trim());
  const port = Number(match?.[3]);
  if (!match || port > 65_535) {
    throw new UsageError(`--listen: "${text}" is not HOST:PORT`, {
      hint: `e.g. ${DEFAULT_LISTEN}, [::1]:8470, or 0.0.0.0:8470 for every interface`,
    });
  }
  return { host: (match[1] ?? match[2]) as string, port };
}
