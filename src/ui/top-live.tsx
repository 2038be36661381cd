/**
 * `rp top` on a terminal: the frame drawn in place on stderr with ink, redrawn on every update;
 * `q` (or Esc) quits. Only used when stdin and stderr are terminals: without one there is no raw
 * mode to read a key, and the command prints plain frames instead.
 */
import { Box, render, Text, useApp, useInput } from 'ink';
import { useSyncExternalStore } from 'react';

function createStore(initial: string[]) {
  let lines = initial;
  const listeners = new Set<() => void>();
  return {
    get: () => lines,
    set: (next: string[]) => {
      lines = next;
      for (const listener of listeners) listener();
    },
    subscribe: (listener: () => void) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

type Store = ReturnType<typeof createStore>;

function TopView({ store, onQuit }: { store: Store; onQuit: () => void }) {
  const lines = useSyncExternalStore(store.subscribe, store.get);
  const { exit } = useApp();
  useInput((input, key) => {
    if (input === 'q' || key.escape || (key.ctrl && input === 'c')) {
      onQuit();
      exit();
    }
  });
  return (
    <Box flexDirection="column">
      {lines.map((line, index) => (
        <Text key={index} wrap="truncate-end">
          {line === '' ? ' ' : line}
        </Text>
      ))}
    </Box>
  );
}

export interface LiveTop {
  /** Draws a new frame. */
  show(lines: string[]): void;
  /** Resolves when the user quits (`q`, Esc, Ctrl+C). */
  quit: Promise<void>;
  /** Takes the view down. */
  close(): void;
}

export function startLiveTop(stream: NodeJS.WriteStream, stdin: NodeJS.ReadStream): LiveTop {
  const store = createStore(['rp top: reading the host…']);
  let quitted: () => void = () => undefined;
  const quit = new Promise<void>((resolve) => {
    quitted = resolve;
  });
  const instance = render(<TopView store={store} onQuit={() => quitted()} />, {
    stdout: stream,
    stdin,
    patchConsole: false,
    exitOnCtrlC: false,
  });
  return {
    // A frame taller than the terminal makes ink clear the whole screen on every redraw (a
    // flicker): the frame is cut to the terminal's height instead.
    show: (lines) => store.set(lines.slice(0, Math.max(1, (stream.rows || 24) - 1))),
    quit,
    close: () => {
      instance.unmount();
      instance.cleanup();
    },
  };
}
