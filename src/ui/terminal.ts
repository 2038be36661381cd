/**
 * The user's terminal for `rp enter`: raw input passed through to the container's shell, its
 * window size, and resizes. Only interactive terminals qualify.
 */
export interface InteractiveTerminal {
  stdin: NodeJS.ReadStream;
  size(): { rows: number; columns: number };
  onResize(listener: () => void): () => void;
  /** Passes every key, Ctrl+C included, through to the container's shell. */
  enterRawMode(): void;
  /** Puts the terminal back as it was. */
  restore(): void;
}

export function isInteractive(): boolean {
  return process.stdin.isTTY === true && process.stdout.isTTY === true;
}

export function openTerminal(): InteractiveTerminal {
  const { stdin, stdout } = process;
  const wasRaw = stdin.isRaw;
  return {
    stdin,
    size: () => ({ rows: stdout.rows || 24, columns: stdout.columns || 80 }),
    onResize: (listener) => {
      stdout.on('resize', listener);
      return () => stdout.off('resize', listener);
    },
    enterRawMode: () => {
      stdin.setRawMode(true);
      stdin.resume();
    },
    restore: () => {
      stdin.setRawMode(wasRaw);
      stdin.pause();
    },
  };
}
